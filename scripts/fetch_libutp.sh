#!/usr/bin/env bash
# Fetch libutp sources (from the npm package utp-native, pinned by sha512) into
# <repo>/.deps/libutp and apply native/patches/*.patch in sorted order.
# Idempotent: re-unpacks + re-patches only when the patch set changes (stamp file).
set -euo pipefail

PKG=utp-native
VERSION=2.5.3
INTEGRITY='sha512-sWTrWYXPhhWJh+cS2baPzhaZc89zwlWCfwSthUjGhLkZztyPhcQllo+XVVCbNGi7dhyRlxkWxN4NKU6FbA9Y8w=='

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
DEST="$DEPS/libutp"
TARBALL="$DEPS/$PKG-$VERSION.tgz"
PATCH_DIR="$ROOT/native/patches"
STAMP="$DEST/.stamp"

sri_of() { # prints "sha512-<base64>" of file $1
  if command -v openssl >/dev/null; then
    printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | openssl base64 -A)"
  else
    node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
  fi
}

verify() { [ -f "$1" ] && [ "$(sri_of "$1")" = "$INTEGRITY" ]; }

mkdir -p "$DEPS"

# 1. Tarball: use cached copy if it verifies, otherwise download via npm pack.
if ! verify "$TARBALL"; then
  rm -f "$TARBALL"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent --pack-destination "$tmp" "$PKG@$VERSION" >/dev/null)
  got="$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)"
  [ -n "$got" ] || { echo "fetch_libutp: npm pack produced no tarball" >&2; exit 1; }
  actual="$(sri_of "$got")"
  if [ "$actual" != "$INTEGRITY" ]; then
    echo "fetch_libutp: INTEGRITY MISMATCH for $PKG@$VERSION" >&2
    echo "  expected: $INTEGRITY" >&2
    echo "  actual:   $actual" >&2
    exit 1
  fi
  mv "$got" "$TARBALL"
fi

# 2. Stamp = tarball integrity + names and contents of all patches (sorted).
patches=()
if [ -d "$PATCH_DIR" ]; then
  while IFS= read -r p; do patches+=("$p"); done < <(find "$PATCH_DIR" -maxdepth 1 -type f -name '*.patch' | LC_ALL=C sort)
fi
stamp_value="$({
  echo "$INTEGRITY"
  for p in ${patches[@]+"${patches[@]}"}; do
    echo "$(basename "$p")"
    cat "$p"
  done
} | sha256sum | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp_value" ]; then
  exit 0
fi

# 3. Fresh unpack of package/deps/libutp only, then patch.
rm -rf "$DEST" "$DEPS/package"
# --touch: fresh mtimes so make/ninja rebuild objects after a re-unpack
tar -xzf "$TARBALL" -C "$DEPS" --touch package/deps/libutp
mv "$DEPS/package/deps/libutp" "$DEST"
rm -rf "$DEPS/package"

for p in ${patches[@]+"${patches[@]}"}; do
  echo "fetch_libutp: applying $(basename "$p")" >&2
  if ! patch -p1 -s --forward -d "$DEST" < "$p"; then
    echo "fetch_libutp: failed to apply $p" >&2
    rm -rf "$DEST"
    exit 1
  fi
done

echo "$stamp_value" > "$STAMP"
echo "fetch_libutp: libutp ready in $DEST (${#patches[@]} patch(es))" >&2
