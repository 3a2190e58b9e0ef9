#!/usr/bin/env bash
# Installs Tansu, the Kafka-protocol broker the Kafka tests run against, once per machine.
# The binary is cached outside the clone (about 10–12 minutes to build on 2 cores the first
# time); later runs reuse it. Prints the binary's path.
set -euo pipefail
version=0.6.0
root="${NHIWATCH_CACHE:-$HOME/.cache/nhiwatch}/tansu-$version"
bin="$root/bin/tansu"
if [ ! -x "$bin" ]; then
    echo "installing tansu $version into $root (first time only)" >&2
    cargo install tansu --locked --version "$version" --features libsql --root "$root" >&2
fi
echo "$bin"
