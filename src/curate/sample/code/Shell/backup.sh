#!/usr/bin/env bash
set -euo pipefail

SRC=${1:-$HOME/documents}
DEST=${2:-/mnt/backup}
STAMP=$(date +%Y-%m-%d)

mkdir -p "$DEST"
tar -czf "$DEST/docs-$STAMP.tar.gz" -C "$(dirname "$SRC")" "$(basename "$SRC")"
find "$DEST" -name 'docs-*.tar.gz' -mtime +30 -delete
echo "backup written to $DEST/docs-$STAMP.tar.gz"
