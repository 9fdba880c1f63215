#!/bin/sh
# Installs the project-local solc entry point where py-solc-x and ape-solidity look for it:
# "$SOLCX_BINARY_PATH/solc-v<version>", answering --version with "<version>+commit.<hash>".
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${SOLCX_BINARY_PATH:?SOLCX_BINARY_PATH must name the install folder}
version=$(node -p "require('$here/node_modules/solc/package.json').version")
mkdir -p "$dest"
target="$dest/solc-v$version"
printf '#!/bin/sh\nexec node "%s/tools/solc-stdjson.cjs" "$@"\n' "$here" > "$target.tmp"
chmod +x "$target.tmp"
mv "$target.tmp" "$target"
"$target" --version | grep -q "Version: $version+commit\." || { echo "solc entry point failed its self-check" >&2; exit 1; }
echo "solc $version installed at $target"
