"""The one way out of the capture browser.

Every connection the captured page makes (and the tool's own media fetches) leaves through
`EgressPoint`, a SOCKS5 server on 127.0.0.1 owned by the tool: it resolves the host name
itself (`resolve`), judges every address against the private-network rule and the allowed
origins (`policy`), and connects to exactly the address it judged. `probe` finds the local
address the operating system routes from.
"""
