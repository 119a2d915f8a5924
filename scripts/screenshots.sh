#!/usr/bin/env bash
# Regenerates screenshots/01-project.png ... 07-results.png (and 02-images-incompatible.png) from the real `pyslim tui --demo` in
# a real terminal: tmux runs the wizard at 120x36, send-keys walks it, `capture-pane -e` keeps
# the ANSI colours, and a small Python/Pillow renderer draws each capture with DejaVu Sans Mono.
#
# Needs a Docker daemon and the stand-in images (scripts/fixture-images.sh, run when missing) for
# the build and results screens. Installs what it needs idempotently: tmux and fonts-dejavu-core
# (Debian), pillow and fonttools (PyPI).
#
# Usage: scripts/screenshots.sh [OUT_DIR]   (default: screenshots/)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-screenshots}
mkdir -p "$OUT"
COLS=120
ROWS=36
SESSION="pyslim-shots-$$"
FONT_DIR=/usr/share/fonts/truetype/dejavu

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
[ -f "$FONT_DIR/DejaVuSansMono.ttf" ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
python3 -c 'import PIL, fontTools' 2>/dev/null || python3 -m pip install --quiet pillow fonttools

scripts/fixture-images.sh --check >/dev/null 2>&1 || scripts/fixture-images.sh >&2
cargo build --quiet
BIN="$PWD/target/debug/pyslim"

WORK=$(mktemp -d)
cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ANSI capture -> PNG, one terminal cell per character box.
cat >"$WORK/ansi2png.py" <<'PY'
import re, sys
from PIL import Image, ImageDraw, ImageFont
from fontTools.ttLib import TTFont

src, dst, cols, rows, font_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
SIZE = 16
fonts = {}
for key, name in [("r", "DejaVuSansMono.ttf"), ("b", "DejaVuSansMono-Bold.ttf"), ("fallback", "DejaVuSans.ttf")]:
    fonts[key] = ImageFont.truetype(f"{font_dir}/{name}", SIZE)
mono_cmap = TTFont(f"{font_dir}/DejaVuSansMono.ttf").getBestCmap()
cw = round(fonts["r"].getlength("M"))
ch = SIZE + 4
BASE = [(0x1e, 0x1e, 0x2e), (0xf3, 0x8b, 0xa8), (0xa6, 0xe3, 0xa1), (0xf9, 0xe2, 0xaf), (0x89, 0xb4, 0xfa),
        (0xf5, 0xc2, 0xe7), (0x94, 0xe2, 0xd5), (0xba, 0xc2, 0xde), (0x58, 0x5b, 0x70), (0xf3, 0x8b, 0xa8),
        (0xa6, 0xe3, 0xa1), (0xf9, 0xe2, 0xaf), (0x89, 0xb4, 0xfa), (0xf5, 0xc2, 0xe7), (0x94, 0xe2, 0xd5),
        (0xff, 0xff, 0xff)]
FG, BG = (0xcd, 0xd6, 0xf4), (0x1e, 0x1e, 0x2e)
# (left, right, up, down) arms of the box-drawing characters the wizard uses.
BOX = {"─": (1, 1, 0, 0), "━": (1, 1, 0, 0), "│": (0, 0, 1, 1), "╭": (0, 1, 0, 1), "┌": (0, 1, 0, 1),
       "╮": (1, 0, 0, 1), "┐": (1, 0, 0, 1), "╰": (0, 1, 1, 0), "└": (0, 1, 1, 0), "╯": (1, 0, 1, 0),
       "┘": (1, 0, 1, 0), "├": (0, 1, 1, 1), "┤": (1, 0, 1, 1), "┬": (1, 1, 0, 1), "┴": (1, 1, 1, 0),
       "┼": (1, 1, 1, 1)}

def xterm(n):
    if n < 16:
        return BASE[n]
    if n < 232:
        n -= 16
        levels = [0, 95, 135, 175, 215, 255]
        return (levels[n // 36], levels[(n // 6) % 6], levels[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)

img = Image.new("RGB", (cols * cw + 24, rows * ch + 24), BG)
draw = ImageDraw.Draw(img)
state = dict(fg=None, bg=None, bold=False, dim=False, rev=False, ul=False)
text = open(src, encoding="utf-8", errors="replace").read()
for y, line in enumerate(text.split("\n")[:rows]):
    x = 0
    for tok in re.split(r"(\x1b\[[0-9;:]*m)", line):
        if tok.startswith("\x1b["):
            codes = [int(c) if c else 0 for c in re.split(r"[;:]", tok[2:-1])] or [0]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    state.update(fg=None, bg=None, bold=False, dim=False, rev=False, ul=False)
                elif c == 1: state["bold"] = True
                elif c == 2: state["dim"] = True
                elif c == 22: state.update(bold=False, dim=False)
                elif c == 4: state["ul"] = True
                elif c == 24: state["ul"] = False
                elif c == 7: state["rev"] = True
                elif c == 27: state["rev"] = False
                elif 30 <= c <= 37: state["fg"] = BASE[c - 30]
                elif 90 <= c <= 97: state["fg"] = BASE[c - 90 + 8]
                elif c == 39: state["fg"] = None
                elif 40 <= c <= 47: state["bg"] = BASE[c - 40]
                elif 100 <= c <= 107: state["bg"] = BASE[c - 100 + 8]
                elif c == 49: state["bg"] = None
                elif c in (38, 48) and i + 1 < len(codes):
                    if codes[i + 1] == 5 and i + 2 < len(codes):
                        state["fg" if c == 38 else "bg"] = xterm(codes[i + 2]); i += 2
                    elif codes[i + 1] == 2 and i + 4 < len(codes):
                        state["fg" if c == 38 else "bg"] = tuple(codes[i + 2:i + 5]); i += 4
                i += 1
            continue
        for chr_ in tok:
            if x >= cols:
                break
            fg, bg = state["fg"] or FG, state["bg"] or BG
            if state["rev"]:
                fg, bg = bg, fg
            if state["dim"]:
                fg = tuple(int(v * 0.6 + BG[j] * 0.4) for j, v in enumerate(fg))
            px, py = 12 + x * cw, 12 + y * ch
            draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if chr_ == "█":
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=fg)
            elif chr_ in BOX:
                # Box drawing as lines across the whole cell, so borders join without gaps.
                cx, cy = px + cw // 2, py + ch // 2
                left, right, up, down = BOX[chr_]
                width = 3 if chr_ == "━" else 1
                if left: draw.line([px, cy, cx, cy], fill=fg, width=width)
                if right: draw.line([cx, cy, px + cw - 1, cy], fill=fg, width=width)
                if up: draw.line([cx, py, cx, cy], fill=fg, width=width)
                if down: draw.line([cx, cy, cx, py + ch - 1], fill=fg, width=width)
            elif chr_ != " ":
                font = fonts["b" if state["bold"] else "r"] if ord(chr_) in mono_cmap else fonts["fallback"]
                draw.text((px, py + 1), chr_, font=font, fill=fg)
            if state["ul"]:
                draw.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=fg)
            x += 1
img.save(dst)
PY

tmux new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" \
  -e PYSLIM_IMAGE_MIRROR=pyslim-mirror -e TERM=xterm-256color -e PS1='$ ' bash --norc --noprofile
tmux send-keys -t "$SESSION" -l "$BIN tui --demo; exit"
tmux send-keys -t "$SESSION" Enter

wait_for() { # wait_for TEXT SECONDS
  local end=$((SECONDS + $2))
  until tmux capture-pane -p -t "$SESSION" | grep -qF -- "$1"; do
    if [ $SECONDS -ge $end ]; then
      echo "error: '$1' did not appear within $2 s; screen:" >&2
      tmux capture-pane -p -t "$SESSION" >&2
      exit 1
    fi
    sleep 0.3
  done
}
shot() { # shot NAME
  sleep 0.4
  tmux capture-pane -e -p -t "$SESSION" >"$WORK/$1.ansi"
  python3 "$WORK/ansi2png.py" "$WORK/$1.ansi" "$OUT/$1.png" "$COLS" "$ROWS" "$FONT_DIR"
  echo "$OUT/$1.png"
}
key() { tmux send-keys -t "$SESSION" "$@"; }

wait_for "Package manager" 60
shot 01-project
key Enter; wait_for "Runtime images" 10
shot 02-images
# The same screen with an incompatible pair (3.13 builder, end-of-life 3.11 distroless runtime).
n=0
until tmux capture-pane -p -t "$SESSION" | grep -q "Runtime gcr.io/distroless/python3-debian12:nonroot"; do
  key Down; n=$((n + 1)); sleep 0.1
  [ $n -lt 40 ] || { echo "error: debian12 runtime not found in the list" >&2; exit 1; }
done
shot 02-images-incompatible
for _ in $(seq "$n"); do key Up; done
key Enter; wait_for "Detected commands" 10
key Tab
shot 03-entrypoint
key Enter; wait_for "Variants to build" 10
shot 04-options
key Enter; wait_for "Preview: the Dockerfile" 10
wait_for "Docker ready" 30
shot 05-preview
# The first variant verified and the next one under way (a warm build cache makes this quick).
key Enter; wait_for "built, started" 1800
shot 06-build
wait_for "Results: image sizes" 1800
shot 07-results
key q
