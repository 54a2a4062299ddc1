#!/bin/sh
# Build proj in release mode and install it into $PREFIX/bin (default: ~/.local/bin),
# and its man pages into $PREFIX/share/man/man1.
# Safe to run again: it rebuilds what changed and replaces the installed binary.
set -eu

cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not installed." >&2
    echo "  Install the Rust toolchain first (https://rustup.rs), then run ./install.sh again." >&2
    exit 1
fi

prefix="${PREFIX:-$HOME/.local}"
bin="$prefix/bin"

echo "Building proj (release)..."
cargo build --release --locked

mkdir -p "$bin"
# Copy to a temporary name first, then rename: a running proj keeps its old binary.
cp target/release/proj "$bin/.proj.new"
mv -f "$bin/.proj.new" "$bin/proj"
echo "Installed $bin/proj"

# The man pages, from the same definitions as --help: proj(1), proj-up(1), ...
man_dir="$prefix/share/man/man1"
if mkdir -p "$man_dir" 2>/dev/null && "$bin/proj" man -o "$man_dir" >/dev/null 2>&1; then
    echo "Installed the man pages in $man_dir (try: man proj)"
else
    echo "Note: could not write the man pages to $man_dir; skipped them (proj man -o DIR writes them anywhere)"
fi

case ":$PATH:" in
    *":$bin:"*) ;;
    *)
        echo
        echo "Note: $bin is not on your PATH. Add it, for example:"
        echo "  echo 'export PATH=\"$bin:\$PATH\"' >> ~/.profile && . ~/.profile"
        ;;
esac
