"""Signed WACZ packages of sealed bundles, for recipients to open in ReplayWeb.page or pywb.

```
B-….wacz (WACZ 1.1.1, every member stored uncompressed for random access)
  archive/traffic.warc.gz          the bundle's WARC, byte for byte
  indexes/index.cdx                its CDXJ index
  pages/pages.jsonl                the captured page (URL, time, title)
  evidence/screenshot.png          the bundle's screenshot and metadata, byte for byte
  evidence/metadata.json
  bag/…                            the bag's tag files: bag-info, manifests, the seal and its
                                   time-stamp, the signer's key and certificate chain
  signature/archive-signer-chain.pem  the WACZ signing key's certificate, issuing CA, root
  datapackage.json                 every file above with its SHA-256 and size
  datapackage-digest.json          the SHA-256 of datapackage.json, signed (WACZ Signing and
                                   Verification 0.1.0, anonymous form: ECDSA P-256, `publicKey`)
                                   and time-stamped (`timeSignature`, RFC 3161 over the signature)
```
The package is a derivative: the bundle stays as sealed, and each package made is a signed
`derived` custody event of the bundle naming the package's SHA-256.
"""
