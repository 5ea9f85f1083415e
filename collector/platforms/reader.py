"""One page in, one `Reading` out: identify the platform, run the extractors, classify."""

from __future__ import annotations

from collector.evidence.post import PageState, Post
from collector.platforms import Reading, generic, library, registry, state
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc, PageInput


def read(page: PageInput) -> Reading:
    doc = PageDoc.parse(page)
    draft = Draft()
    platform, platform_id = registry.identify(doc)
    generic.extract(doc, draft)
    extractor = "generic"
    platform_state: PageState | None = None
    if platform is not None:
        extractor = platform.id
        try:
            platform.extract(doc, draft)
        except Exception as exc:  # a page the extractor did not foresee: keep the generic reading
            draft.notes.append(
                f"{platform.name} extractor stopped on this page ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]}); generic values kept"
            )
        if platform.page_state is not None:
            try:
                platform_state = platform.page_state(doc)
            except Exception as exc:
                draft.notes.append(f"{platform.name} page-state rule failed ({type(exc).__name__})")
    library.fill(doc, draft)
    generic.last_resort(doc, draft)
    draft.notes[:0] = doc.notes
    post = draft.finish(platform_id, extractor)
    post = _time_zone_note(post)
    return Reading(post=post, page_state=state.classify(doc, page.status, post, platform_state))


def _time_zone_note(post: Post) -> Post:
    value = post.published_at
    if value and "T" in value and not (value.endswith("Z") or value[-6] in "+-"):
        note = "published_at: the page gives no time zone; kept as written, not converted to UTC"
        return post.model_copy(update={"notes": [*post.notes, note]})
    if value and "T" not in value:
        note = "published_at: the page gives a date without a time of day"
        return post.model_copy(update={"notes": [*post.notes, note]})
    return post
