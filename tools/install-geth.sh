#!/bin/sh
# Puts geth 1.13.15 (the last geth that seals Clique blocks) at "$1" (e.g. .venv/bin/geth), once
# per machine: a geth already there, or one on PATH, that reports 1.13.15 is kept; otherwise it is
# built from the Go module at exactly that version (needs Go and a C compiler; a few minutes).
set -eu
dest=${1:?usage: install-geth.sh DEST}
want=1.13.15
reports() { "$1" version 2>/dev/null | grep -q "^Version: $want-stable"; }

if [ -x "$dest" ] && reports "$dest"; then exit 0; fi
rm -f "$dest"
for found in $(command -v -a geth 2>/dev/null || true); do
    if [ "$found" != "$dest" ] && reports "$found"; then
        ln -s "$found" "$dest"
        echo "geth $want: using $found"
        exit 0
    fi
done
command -v go >/dev/null || { echo "geth $want is needed: install Go (1.21 or later) and a C compiler, or put geth $want on PATH (docs/toolchain.md)" >&2; exit 1; }
echo "building geth $want from its Go module (once per machine, a few minutes)..."
started=$(date +%s)
bin=$(dirname "$dest")
# -checklinkname=0: geth 1.13's fjl/memsize links to runtime internals that Go 1.23+ hides; it only
# serves a debug endpoint the node never enables.
GOBIN="$bin" CGO_ENABLED=1 go install -ldflags=-checklinkname=0 \
    github.com/ethereum/go-ethereum/cmd/geth@v$want
reports "$dest" || { echo "the geth built at $dest does not report $want" >&2; exit 1; }
echo "geth $want built at $dest in $(( $(date +%s) - started )) s"
