#!/usr/bin/env bash
# How the legacy test data in this directory was made. Tests never run this script; it
# documents (and can redo) the making of each item with the tool's own code at an old commit.
#
#   make.sh bundle COMMIT OUTDIR    one bundle + one export made by COMMIT (v1.0, v1.1, v1.2)
#   make.sh store  COMMIT OUTDIR    a whole evidence store made by COMMIT, written to OUTDIR
#                                   itself (store-1.2); its logs, the export and the checks go to
#                                   OUTDIR-extra (needs the policy commands of cbca2d6)
#
# Each run: a detached git worktree of COMMIT in /tmp/legacy-<short>, its own venv
# (`pip install -e '.[dev]'`), that commit's own fixture site (`python -m fixtures.server`) and
# RFC 3161 authority (`python -m fixtures.tsa`) on 127.0.0.1, and that commit's own CLI, driven as
# that commit's scripts/demo and tests drive it. Then the same commit's `collector verify` and the
# landed code's (`$HEAD_COMMIT`, default cbca2d6, in its own clean worktree and venv) are run on
# the results, and their output is kept in OUTDIR/logs/.
#
# One change is made in the worktree, to test infrastructure only: the test authority's
# certificates are made valid for $TSA_VALID_DAYS (default 7300, i.e. 20 years) instead of 365
# days, so that the data does not rot (see README.md). Set TSA_VALID_DAYS=365 to make it as the
# commit would. Everything else (the product code, the fixture site, the pins) is untouched.
#
# Needs: Debian 12, /usr/bin/chromium, python3, openssl, git; the repository at $REPO
# (default: the repository this script is in). Never touches the repository's working tree.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MODE=${1:?usage: make.sh bundle|store COMMIT OUTDIR}
COMMIT=${2:?commit}
OUT=${3:?output directory}
REPO=${REPO:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)}
HEAD_COMMIT=${HEAD_COMMIT:-cbca2d6}
TSA_VALID_DAYS=${TSA_VALID_DAYS:-7300}
PAGE=${PAGE:-/popup-target.html}   # the smallest fixture page that renders (a card, an image, CSS)

FULL=$(git -C "$REPO" rev-parse "$COMMIT^{commit}")
SHORT=${FULL:0:7}
WT=/tmp/legacy-$SHORT
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -z "$(ls -A "$OUT")" ] || { echo "make.sh: $OUT is not empty" >&2; exit 2; }
if [ "$MODE" = store ]; then
  STORE_OUT=$OUT
  OUT=$OUT-extra
  mkdir -p "$OUT"
  [ -z "$(ls -A "$OUT")" ] || { echo "make.sh: $OUT is not empty" >&2; exit 2; }
fi

# --------------------------------------------------------------- the old version, runnable
worktree() {  # full-commit dir: a detached worktree with its own venv
  if [ ! -d "$2" ]; then
    git -C "$REPO" worktree add --detach "$2" "$1"
  fi
  [ -x "$2/.venv/bin/collector" ] || (cd "$2" && python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]')
}
HEAD_FULL=$(git -C "$REPO" rev-parse "$HEAD_COMMIT^{commit}")
HEAD_WT=/tmp/legacy-${HEAD_FULL:0:7}
worktree "$HEAD_FULL" "$HEAD_WT"
HEAD_COLLECTOR=$HEAD_WT/.venv/bin/collector
worktree "$FULL" "$WT"
cd "$WT"
if [ "$TSA_VALID_DAYS" != 365 ]; then
  grep -q 'not_after = now + dt.timedelta(days=365)' fixtures/tsa.py \
    || grep -q "not_after = now + dt.timedelta(days=$TSA_VALID_DAYS)" fixtures/tsa.py \
    || { echo "make.sh: fixtures/tsa.py has no 365-day validity to change" >&2; exit 2; }
  sed -i "s/not_after = now + dt.timedelta(days=365)/not_after = now + dt.timedelta(days=$TSA_VALID_DAYS)/" fixtures/tsa.py
fi
PY=$WT/.venv/bin/python
C=$WT/.venv/bin/collector

S=$(mktemp -d /tmp/legacy-scratch-XXXXXX)
export COLLECTOR_STORE=$S/store
mkdir -p "$OUT/logs"
LOG=$OUT/logs
j() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]] if len(sys.argv) < 4 else d[sys.argv[2]][sys.argv[3]])" "$@"; }
# Every command is echoed to logs/commands.log, with its output, so the log is the transcript.
run() { { printf '$'; printf ' %q' "$@"; printf '\n'; } >> "$LOG/commands.log"; "$@" 2>&1 | tee -a "$LOG/commands.log"; return "${PIPESTATUS[0]}"; }

"$PY" -m fixtures.server > "$S/fixture-server.json" &
SERVER=$!
"$PY" -m fixtures.tsa --name "Legacy Test Time-Stamp Authority" > "$S/tsa.json" &
TSA=$!
trap 'kill $SERVER $TSA 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [ -s "$S/fixture-server.json" ] && [ -s "$S/tsa.json" ] && break; sleep 0.1; done
SITE=$(j "$S/fixture-server.json" http)
TSA_URL=$(j "$S/tsa.json" url)
TSA_ROOT=$(j "$S/tsa.json" root_cert)
cp "$TSA_ROOT" "$S/tsa-root.pem"
cp "$(dirname "$TSA_ROOT")/tsa.pem" "$S/tsa-cert.pem"

{
  echo "commit: $FULL"
  echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release; echo "$PRETTY_NAME"), $(/usr/bin/chromium --version 2>/dev/null), $("$PY" --version)"
  echo "collector version: $($C version 2>&1)"
  echo "fixture site: $SITE   time-stamp authority: $TSA_URL"
  echo "TSA_VALID_DAYS=$TSA_VALID_DAYS"
} > "$LOG/provenance.txt"

as() { local user=$1 pass=$2; shift 2; COLLECTOR_USER=$user COLLECTOR_PASSPHRASE=$pass run "$@"; }
newuser() {  # name role full-name badge passphrase
  COLLECTOR_NEW_PASSPHRASE=$5 run $C user add "$1" --role "$2" --name "$3" --badge "$4"
}
request_auth() {  # user pass case facts -> prints the id
  COLLECTOR_USER=$1 COLLECTOR_PASSPHRASE=$2 $C auth request --json \
    --case "$3" --predicate criminal-predicate --standard reasonable-suspicion \
    --purpose criminal-investigation --retention case-evidence --scope "$SITE/*" \
    --facts "$4" > "$S/auth-$3.json" 2>> "$LOG/commands.log"
  echo "\$ auth request --case $3 (as $1) -> $(cat "$S/auth-$3.json")" >> "$LOG/commands.log"
  j "$S/auth-$3.json" id
}

A_PASS=legacy-alice-passphrase
B_PASS=legacy-bob-passphrase
E_PASS=legacy-erin-passphrase

run $C init --agency "Legacy Fixture Police Department" --allow-private-network \
  --tsa-url "$TSA_URL" --tsa-root "$S/tsa-root.pem"
newuser alice investigator "Alice Adams" I-101 $A_PASS
newuser bob supervisor "Bob Brown" S-201 $B_PASS
newuser erin custodian "Erin Evans" C-301 $E_PASS

AUTH=$(request_auth alice $A_PASS HPD-2026-000123 \
  "On 2026-11-20 @alice@social.example posted photos of a burglary scene with items matching the stolen property list of case HPD-2026-000123.")
as bob $B_PASS $C auth approve "$AUTH"

capture() {  # user pass url json-out [extra args]
  local user=$1 pass=$2 url=$3 out=$4; shift 4
  { printf '$ (as %s) capture %q' "$user" "$url"; printf ' %q' "$@"; printf '\n'; } >> "$LOG/commands.log"
  COLLECTOR_USER=$user COLLECTOR_PASSPHRASE=$pass $C capture "$url" "$@" --json > "$out" 2>> "$LOG/commands.log"
  cat "$out" >> "$LOG/commands.log"
}

# ===================================================================== bundle mode
if [ "$MODE" = bundle ]; then
  capture alice $A_PASS "$SITE$PAGE" "$S/capture.json" --auth "$AUTH" \
    --note "Legacy test data: a small fixture page"
  BUNDLE=$(j "$S/capture.json" path)
  BID=$(j "$S/capture.json" bundle_id)
  [ -f "$BUNDLE/seal.tsr" ] || { echo "make.sh: $BID has no seal.tsr" >&2; exit 1; }
  as alice $A_PASS $C custody transfer "$BID" --to erin --reason "Lodged in the digital evidence room"
  EXPORT=export-HPD-2026-000123.zip
  COLLECTOR_USER=erin COLLECTOR_PASSPHRASE=$E_PASS $C export "$BID" --recipient "ADA Jane Roe" \
    --agency "County Prosecutor's Office" --reason "Charging review, case HPD-2026-000123" \
    --out "$S/$EXPORT" --json > "$S/export.json" 2>> "$LOG/commands.log"
  echo "\$ export $BID (as erin) -> $(cat "$S/export.json")" >> "$LOG/commands.log"
  run $C keys export --out "$S/agency-keys.json"
  run $C custody show "$BID" > /dev/null

  mkdir -p "$OUT/bundle" "$OUT/keys"
  cp -a "$BUNDLE" "$OUT/bundle/$BID"
  cp "$S/$EXPORT" "$OUT/$EXPORT"
  cp "$S/tsa-root.pem" "$S/tsa-cert.pem" "$OUT/"
  cp "$S/agency-keys.json" "$OUT/keys/agency-keys.json"
  cp "$S/capture.json" "$LOG/capture.json"
  cp "$S/export.json" "$LOG/export.json"
  cp "$S/auth-HPD-2026-000123.json" "$LOG/auth-request.json"
  cp "$COLLECTOR_STORE/collector.toml" "$LOG/collector.toml"

  # The same version's verify: in its store (by id), the bundle directory, the export.
  vrun() {  # name collector args...
    local name=$1; shift
    set +e
    "$@" > "$LOG/$name.txt" 2>&1
    echo $? > "$LOG/$name.exit"
    set -e
  }
  vrun same-verify-in-store "$C" verify "$BID"
  vrun same-verify-bundle-dir env -u COLLECTOR_STORE "$C" --store "$S/no-store" verify "$OUT/bundle/$BID"
  vrun same-verify-export-trust env -u COLLECTOR_STORE "$C" --store "$S/no-store" verify "$OUT/$EXPORT" --trust "$OUT/keys/agency-keys.json"
  vrun same-verify-export-notrust env -u COLLECTOR_STORE "$C" --store "$S/no-store" verify "$OUT/$EXPORT"
  # The current code: never given a store (what a test of the committed files can do).
  vrun head-verify-bundle-dir env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/no-store" verify "$OUT/bundle/$BID"
  vrun head-verify-export-trust env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/no-store" verify "$OUT/$EXPORT" --trust "$OUT/keys/agency-keys.json"
  vrun head-verify-export-notrust env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/no-store" verify "$OUT/$EXPORT"
  vrun head-verify-export-trust-json env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/no-store" verify "$OUT/$EXPORT" --trust "$OUT/keys/agency-keys.json" --json
  vrun head-verify-bundle-dir-json env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/no-store" verify "$OUT/bundle/$BID" --json
  # The same, with the clock set past the test authority's certificates (does anything rot?)
  if command -v faketime > /dev/null; then
    vrun head-verify-export-trust-at-2050 faketime "2050-06-01 00:00:00" env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/no-store" verify "$OUT/$EXPORT" --trust "$OUT/keys/agency-keys.json"
  fi
  # For information only (the old store is not kept): the landed code on a copy of the old store.
  cp -a "$COLLECTOR_STORE" "$S/store-copy"
  vrun head-verify-in-old-store-copy env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/store-copy" verify "$BID"
  echo "head (landed) collector: $HEAD_COLLECTOR at $HEAD_FULL" >> "$LOG/provenance.txt"
  [ ! -e "$S/no-store" ] || echo "note: a verify created $S/no-store" >> "$LOG/provenance.txt"

  "$PY" - "$OUT" "$BID" "$EXPORT" "$FULL" "$AUTH" <<'EOF'
import hashlib, json, sys
from pathlib import Path
out, bid, export, commit, auth = Path(sys.argv[1]), *sys.argv[2:]
bag = out / "bundle" / bid
info = {}
for line in (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines():
    if ":" in line and not line.startswith((" ", "\t")):
        k, v = line.split(":", 1)
        info[k.strip()] = v.strip()
sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
payload = [l for l in (bag / "manifest-sha256.txt").read_text().splitlines() if l.strip()]
logs = out / "logs"
code = lambda n: int((logs / f"{n}.exit").read_text())
meta = json.loads((bag / "data" / "metadata.json").read_text())
expected = {
    "made_by_commit": commit,
    "bundle_id": bid,
    "bundle_format": info.get("Bundle-Format"),
    "metadata_format_version": meta.get("format_version"),
    "authorization_id": auth,
    "case_number": info.get("Case-Number"),
    "seal_sha256": sha(bag / "tagmanifest-sha256.txt"),
    "signer_key_fingerprint": info.get("Signer-Key-Fingerprint"),
    "payload_files": len(payload),
    "payload_paths": sorted(l.split(None, 1)[1] for l in payload),
    "root_files": sorted(p.name for p in bag.iterdir() if p.is_file()),
    "has_seal_tsr": (bag / "seal.tsr").is_file(),
    "export_file": export,
    "export_sha256": sha(out / export),
    "tsa_root_sha256_of_pem_file": sha(out / "tsa-root.pem"),
    "same_version_verify_exit": {n: code(f"same-verify-{n}") for n in ("in-store", "bundle-dir", "export-trust", "export-notrust")},
    "head_verify_exit": {n: code(f"head-verify-{n}") for n in ("bundle-dir", "export-trust", "export-notrust")},
    "head_verify_in_old_store_copy_exit": code("head-verify-in-old-store-copy"),
    "head_verify_failed_checks": {
        c["name"]: c["detail"]
        for c in json.loads((logs / "head-verify-bundle-dir-json.txt").read_text())["checks"]
        if not c["ok"]
    },
}
if (logs / "head-verify-export-trust-at-2050.exit").exists():
    expected["head_verify_export_trust_exit_at_2050"] = code("head-verify-export-trust-at-2050")
(out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
print(json.dumps(expected, indent=2))
EOF
  chmod -R u+w "$OUT"   # sealed bundles are 0440/0550; git keeps no modes: make it look like a checkout
  rm -rf "$S"
  exit 0
fi

# ===================================================================== store mode
[ "$MODE" = store ] || { echo "make.sh: mode must be bundle or store" >&2; exit 2; }
# A realistic store before an upgrade: every feature table with rows. Steps that may be refused
# are run with `try`, which logs the exit code instead of stopping.
try() { { printf '$'; printf ' %q' "$@"; printf '\n'; } >> "$LOG/commands.log"
        set +e; "$@" >> "$LOG/commands.log" 2>&1; local rc=$?; set -e
        echo "[exit $rc]" >> "$LOG/commands.log"; echo "$rc $*" | cut -c1-160 >> "$LOG/step-exits.txt"; }
P() { echo "legacy-$1-passphrase"; }
asu() { local u=$1; shift; COLLECTOR_USER=$u COLLECTOR_PASSPHRASE=$(P "$u") "$@"; }

# users: the store's owner makes the first admin; the admin makes everyone else
COLLECTOR_NEW_PASSPHRASE=$(P adam) run $C user add adam --role admin --name "Adam Archer" --badge X-501
add() { COLLECTOR_NEW_PASSPHRASE=$(P "$1") asu adam run $C user add "$1" --role "$2" --name "$3" --badge "$4"; }
add amy admin "Amy Ames" X-502
add frank investigator "Frank Foster" I-102
add greta investigator "Greta Gomez" I-103
add carol supervisor "Carol Chen" S-202
add sam supervisor "Sam Singh" S-203
add hank custodian "Hank Hughes" C-302
add dana auditor "Dana Diaz" A-401
add ivan auditor "Ivan Ivanov" A-402
try asu adam $C user retire greta
try asu adam $C user list

# equipment and machine record
try $C equipment add LEGACY-WS-1 --kind agency --description "Evidence workstation, asset tag HPD-IT-0042 (this machine)"
try asu adam $C equipment add LEGACY-PHONE-7 --kind personal --description "Frank's personal phone, declared for exigent use" \
  --assigned-to frank --machine-id 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
try $C equipment whoami

# profiles (each user states their own)
try asu erin $C user profile erin --title "Evidence Custodian, Digital Evidence Unit" \
  --qualifications "Nine years handling digital evidence; custodian of the agency's evidence store" \
  --training "collector operator course (2026); evidence handling (2018)"
try asu alice $C user profile alice --title "Detective, Property Crimes" \
  --qualifications "Six years investigating property crime; open-source research" --training "collector operator course (2026)"

# policy review
try asu bob $C policy reviewed --reason "Annual review of the social-media policy: no changes needed"

# authorizations: AUTH (alice, approved by bob, above); one denied, one revoked, one left pending
DENIED=$(request_auth frank "$(P frank)" HPD-2026-000200 \
  "An anonymous tip says @frank-target@social.example sells stolen bicycles; no corroboration yet.")
try asu carol $C auth deny "$DENIED" --reason "A single anonymous tip without corroboration is not reasonable suspicion"
REVOKED=$(request_auth alice $A_PASS HPD-2026-000201 \
  "On 2026-11-21 @fence@social.example offered a laptop whose serial matches one reported stolen in case HPD-2026-000201.")
try asu carol $C auth approve "$REVOKED"
try asu bob $C auth revoke "$REVOKED" --reason "Case HPD-2026-000201 closed: the laptop was recovered"
PENDING=$(request_auth frank "$(P frank)" HPD-2026-000202 \
  "On 2026-11-22 @pawn@social.example posted a ring matching the description in burglary report HPD-2026-000202.")

# a refused capture (outside the scope) and a refused grade, both recorded
try asu alice $C capture "http://localhost:1/elsewhere" --auth "$AUTH"

# capture 1: a small page under AUTH
capture alice $A_PASS "$SITE$PAGE" "$S/capture-1.json" --auth "$AUTH" --note "Legacy store: capture 1"
B1=$(j "$S/capture-1.json" bundle_id)
# capture 2: a page about a rally: quarantined for protected content, then reviewed
capture alice $A_PASS "$SITE/protected/rally.html" "$S/capture-2.json" --auth "$AUTH" --note "Legacy store: capture 2 (protected content)"
B2=$(j "$S/capture-2.json" bundle_id)
# capture 3: exigent, reviewed afterwards, then purged (two people)
capture alice $A_PASS "$SITE/login-wall.html" "$S/capture-3.json" --exigent --case HPD-2026-000124 \
  --facts "A post threatens to open fire at the City Hall rally at noon today and shows a rifle."
B3=$(j "$S/capture-3.json" bundle_id)
for f in 1 2 3; do [ -f "$(j "$S/capture-$f.json" path)/seal.tsr" ] || { echo "make.sh: capture $f has no seal.tsr" >&2; exit 1; }; done
EXIGENT=$($C auth list --json | "$PY" -c "import json,sys; print([a for a in json.load(sys.stdin) if a.get('case_number')=='HPD-2026-000124'][-1]['id'])")

try asu bob $C review protected "$B2" --approve --nexus "The post offers unregistered pistols for sale at the rally"
try asu carol $C auth review "$EXIGENT" --approve --reason "Credible, imminent threat; capture justified"
try $C review pending

# grading, corroboration, a refused grade
try asu alice $C grade "$B1" --source B --content 2 --note "Account history consistent with the stolen-property report"
try asu frank $C grade "$B2" --source C --content 3 --note "New account; not yet corroborated"
try asu alice $C corroborate "$B1" --with "$B2" --note "Same seller, same items, two days apart"
try asu dana $C grade "$B1" --source A --content 1
try $C grades "$B1"

# aliases: one active (two approvals), one denied, one retired
try asu alice $C alias request river-watcher --platform mastodon --handle @riverwatch@social.example \
  --reason "Undercover monitoring of the stolen-goods marketplace group"
try asu bob $C alias approve river-watcher
try asu carol $C alias approve river-watcher
try asu frank $C alias request night-owl --platform x --handle @nightowl_buyer \
  --reason "Posing as a buyer of stolen bicycles in a closed group"
try asu sam $C alias deny night-owl --reason "The group is public; no alias is needed"
try asu alice $C alias request old-handle --platform mastodon --handle @oldhandle@social.example \
  --reason "Monitoring a resale channel that has since closed down"
try asu bob $C alias approve old-handle
try asu sam $C alias approve old-handle
try asu bob $C alias retire old-handle --reason "The channel closed; the alias is no longer needed"
try $C alias list

# custody: transfers, a signed verify, a view
try asu alice $C custody transfer "$B1" --to erin --reason "Lodged in the digital evidence room"
try asu alice $C custody transfer "$B2" --to hank --reason "Lodged in the digital evidence room"
try asu erin $C verify "$B1"
try asu hank $C show "$B2"
try $C custody verify "$B1"

# retention: a retain review, a review that opens a purge request, a legal hold
try asu sam $C retention review "$B2" --retain --reason "The rally case is still open and the post is evidence of the offer"
try asu bob $C retention review "$B2" --purge --reason "Nexus weak once the seller was identified from capture 1"
try asu erin $C hold "$B1" --reason "Litigation hold for case HPD-2026-000123"
try $C retention due --as-of 2032-01-01
try $C retention status

# purge: capture 3 requested by a custodian, approved by a supervisor (carried out: tombstone)
try asu erin $C purge request "$B3" --reason "Exigent capture reviewed; the threat was a hoax and the content has no evidentiary value"
try asu sam $C purge approve "$B3"
try $C purge list --all

# export and the exhibit (the files are kept outside the store)
mkdir -p "$S/outside"
COLLECTOR_USER=erin COLLECTOR_PASSPHRASE=$E_PASS $C export "$B1" --recipient "ADA Jane Roe" \
  --agency "County Prosecutor's Office" --reason "Charging review, case HPD-2026-000123" \
  --out "$S/outside/export-HPD-2026-000123.zip" --json > "$S/export.json" 2>> "$LOG/commands.log"
echo "\$ export $B1 (as erin) -> $(cat "$S/export.json")" >> "$LOG/commands.log"
try asu erin $C exhibit "$B1" --number 1 --declarant erin --out "$S/outside/exhibit-1.pdf" \
  --recipient "ADA Jane Roe" --reason "Trial exhibit, case HPD-2026-000123" --bates-prefix HPD-
run $C keys export --out "$S/outside/agency-keys.json"
try asu dana $C audit report --format md --out "$S/outside/audit.md"
try $C timestamp pending
try $C ledger verify

# the result: the store as it stands, without scratch, plus what lives outside it
rmdir "$STORE_OUT"
cp -a "$COLLECTOR_STORE" "$STORE_OUT"
ls -la "$COLLECTOR_STORE" > "$LOG/store-root-listing.txt"
find "$COLLECTOR_STORE" -printf '%m %p\n' | sed "s#$COLLECTOR_STORE#STORE#" | sort -k2 > "$LOG/store-modes.txt"
for f in ledger.sqlite-wal ledger.sqlite-shm; do
  [ ! -e "$STORE_OUT/$f" ] || { echo "note: $f present after the last command (removed: size $(stat -c %s "$STORE_OUT/$f"))" >> "$LOG/provenance.txt"; rm -f "$STORE_OUT/$f"; }
done
if [ -d "$STORE_OUT/work" ]; then
  ls -A "$STORE_OUT/work" > "$LOG/work-leftovers.txt"
  rm -rf "${STORE_OUT:?}/work"   # empty or not, git keeps no empty directory
fi
chmod -R u+w "$STORE_OUT"       # git keeps no modes: make it look like a checkout
mkdir -p "$OUT/outside"
cp "$S/outside/export-HPD-2026-000123.zip" "$S/outside/agency-keys.json" "$S/tsa-root.pem" "$S/tsa-cert.pem" "$OUT/outside/"
[ -f "$S/outside/exhibit-1.pdf" ] && sha256sum "$S/outside/exhibit-1.pdf" | sed "s#$S/outside/##" > "$LOG/exhibit-1.pdf.sha256"
cp "$S"/capture-*.json "$S/export.json" "$LOG/"
[ -f "$S/outside/audit.md" ] && cp "$S/outside/audit.md" "$LOG/audit.md"
{
  echo "AUTH=$AUTH DENIED=$DENIED REVOKED=$REVOKED PENDING=$PENDING EXIGENT=$EXIGENT"
  echo "B1=$B1 B2=$B2 B3=$B3"
  echo "head (landed) collector: $HEAD_COLLECTOR at $HEAD_FULL"
} >> "$LOG/provenance.txt"
echo "$AUTH $DENIED $REVOKED $PENDING $EXIGENT $B1 $B2 $B3" > "$LOG/ids.txt"

# What the landed code says of the store as a checkout would give it (a copy: never the output)
CHK=$S/check-store
cp -a "$STORE_OUT" "$CHK"
(cd "$CHK" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$S/check-before.sha256"
crun() {  # name cmd... (exit code in name.exit)
  local name=$1; shift
  set +e; "$@" > "$LOG/$name.txt" 2>&1; echo $? > "$LOG/$name.exit"; set -e
}
HC() { env -u COLLECTOR_STORE -u COLLECTOR_USER -u COLLECTOR_PASSPHRASE "$HEAD_COLLECTOR" --store "$CHK" "$@"; }
crun head-ledger-verify HC ledger verify
crun head-verify-b1 HC verify "$B1"
crun head-verify-b2 HC verify "$B2"
crun head-verify-b3-purged HC verify "$B3"
crun head-custody-verify-b1 HC custody verify "$B1"
crun head-custody-verify-b2 HC custody verify "$B2"
crun head-user-list HC user list
crun head-keys-list HC keys list
crun head-auth-list HC auth list
crun head-alias-list HC alias list
crun head-purge-list HC purge list --all
crun head-retention-status HC retention status
crun head-review-pending HC review pending
crun head-policy-check HC policy check
crun head-equipment-list HC equipment list
crun head-verify-export-trust env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$S/no-store" verify "$OUT/outside/export-HPD-2026-000123.zip" --trust "$OUT/outside/agency-keys.json"
if command -v faketime > /dev/null; then
  crun head-verify-b1-at-2050 faketime "2050-06-01 00:00:00" env -u COLLECTOR_STORE "$HEAD_COLLECTOR" --store "$CHK" verify "$B1"
fi
(cd "$CHK" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$S/check-after.sha256"
{ echo "files of the check copy that the commands above changed or created:"
  diff "$S/check-before.sha256" "$S/check-after.sha256" | grep '^[<>]' || echo "(none)"; } > "$LOG/check-copy-changed-files.txt"

"$PY" - "$STORE_OUT" "$OUT" "$FULL" "$AUTH" "$DENIED" "$REVOKED" "$PENDING" "$EXIGENT" "$B1" "$B2" "$B3" <<'PYEOF'
import hashlib, json, shutil, sqlite3, sys, tempfile
from pathlib import Path
store, extra, commit, auth, denied, revoked, pending, exigent, b1, b2, b3 = sys.argv[1:]
store, extra = Path(store), Path(extra)
logs = extra / "logs"
tmp = Path(tempfile.mkdtemp())
shutil.copy(store / "ledger.sqlite", tmp / "ledger.sqlite")   # never open the output itself
db = sqlite3.connect(tmp / "ledger.sqlite")
ledger_seal = dict(db.execute("SELECT id, seal_sha256 FROM bundles").fetchall())
tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
actions = dict(db.execute("SELECT action, count(*) FROM events GROUP BY action ORDER BY action").fetchall())
users = [dict(zip(("name", "role", "retired"), r)) for r in db.execute("SELECT name, role, retired_at IS NOT NULL FROM users ORDER BY name")]
db.close(); shutil.rmtree(tmp)
sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
seal = lambda b: sha(store / "bundles" / b / "tagmanifest-sha256.txt") if (store / "bundles" / b).is_dir() else ledger_seal[b]
code = lambda n: int((logs / f"{n}.exit").read_text()) if (logs / f"{n}.exit").exists() else None
expected = {
    "made_by_commit": commit,
    "store_id": next(l.split("=", 1)[1].strip().strip('"') for l in (store / "collector.toml").read_text().splitlines() if l.startswith("store_id")),
    "authorizations": {"approved": auth, "denied": denied, "revoked": revoked, "pending": pending, "exigent_reviewed": exigent},
    "bundles": {
        b1: {"role": "capture 1: transferred to erin, verified, graded, corroborated, held, exported, exhibit", "seal_sha256": seal(b1)},
        b2: {"role": "capture 2: quarantined then approved, transferred to hank, viewed, graded, retention reviews (retain, then purge: request pending)", "seal_sha256": seal(b2)},
        b3: {"role": "capture 3: exigent, reviewed, purged (tombstone, directory gone; seal from the ledger)", "seal_sha256": seal(b3), "directory_present": (store / "bundles" / b3).is_dir()},
    },
    "users": users,
    "table_rows": rows,
    "ledger_actions": actions,
    "export_file": "export-HPD-2026-000123.zip",
    "export_sha256": sha(extra / "outside" / "export-HPD-2026-000123.zip"),
    "head_exit": {p.stem: int(p.read_text()) for p in sorted(logs.glob("head-*.exit"))},
}
(extra / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
print(json.dumps(expected, indent=2))
PYEOF
rm -rf "$S"
