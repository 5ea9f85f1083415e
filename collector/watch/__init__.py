"""Watching a page: the same capture repeated on a schedule while its authorization holds, each
run a bundle of its own, each compared with the one before (how an edit or a deletion is
proven). A watch is a standing capture request the investigator signs once (`W-…`, with its
`repeat`); its history is in the ledger (`watch.started`, `watch.run`, `watch.changed`,
`watch.stopped`)."""
