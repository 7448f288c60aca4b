#!/bin/sh
# Claude Desktop extension launcher (macOS, Linux): runs the sqlmcp binary
# for this machine's OS and CPU from the bundle's server/ directory.
dir=$(dirname "$0")
case $(uname -s) in
Darwin) os=darwin ;;
Linux) os=linux ;;
*) echo "sqlmcp: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
arm64 | aarch64) arch=arm64 ;;
*) echo "sqlmcp: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
exec "$dir/sqlmcp-$os-$arch" "$@"
