"""The web application (`collector serve`): server-rendered pages over the same store, policy
and disclosure functions the command line calls. It decides nothing of its own: every
permission is `Store.require`, every signature needs the passphrase in the same form."""
