"""How many of the stated identifying fields the readers get right over every real page, in
total and for each group (the platform or forum software the row expects, else the page's
folder), so that one reader going wrong fails the test however well the others do."""

from __future__ import annotations

from collections import defaultdict

from collector.platforms import PageInput, read_page
from tests.real_pages import SCORED, field_right, rows

THRESHOLD = 0.95


def test_fields_right_over_all_real_pages() -> None:
    right: dict[str, int] = defaultdict(int)
    stated: dict[str, int] = defaultdict(int)
    for row in rows():
        post = read_page(PageInput(url=row.url, raw=row.path.read_bytes(), status=200)).post
        group = row.platform or f"no platform ({row.file.split('/')[0]})"
        for name in SCORED:
            if row.fields.get(name) is None:
                continue
            stated[group] += 1
            right[group] += field_right(name, row.fields[name], post)
    low = []
    for group in sorted(stated):
        share = right[group] / stated[group]
        print(f"{group}: fields right/stated: {right[group]}/{stated[group]} ({share:.0%})")
        if share < THRESHOLD:
            low.append(f"{group} {right[group]}/{stated[group]}")
    total_right, total = sum(right.values()), sum(stated.values())
    assert total >= 100, f"only {total} stated fields: the table is not being read"
    share = total_right / total
    print(f"total: fields right/stated: {total_right}/{total} ({share:.1%})")
    assert share >= THRESHOLD, f"{total_right}/{total} right"
    assert not low, f"groups below {THRESHOLD:.0%}: {', '.join(low)}"
