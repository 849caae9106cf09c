"""Draw the architecture figure shown by the home notebook: nbs/images/architecture.svg.

Plain Python string building (no plotting library, no external fonts or URLs), so the SVG is small,
deterministic and renders the same in a browser, in Jupyter and on a git host. Run from the repository root:
    .venv/bin/python experiments/draw_architecture.py [OUT.svg]
"""
import sys
from pathlib import Path
from xml.sax.saxutils import escape

W, H = 960, 676
SANS = "'DejaVu Sans', Verdana, 'Helvetica Neue', Arial, sans-serif"
MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace"
INK, MUTED = "#1f2933", "#52606d"
FROZEN = dict(fill="#e9eff6", stroke="#5b7083", dark="#c9d6e4", badge="#5b7083")
TRAINED = dict(fill="#fff3e3", stroke="#d9730d", dark="#f6c48f", badge="#d9730d")
LOSS, MONITOR = "#c0392b", "#7b4fa0"

STYLE = f"""
text {{ font-family: {SANS}; fill: {INK}; }}
.h {{ font-size: 15px; font-weight: bold; }}
.b {{ font-size: 13px; font-weight: bold; }}
.t {{ font-size: 13px; }}
.s {{ font-size: 12px; fill: {MUTED}; }}
.m {{ font-family: {MONO}; font-size: 12px; }}
.badge {{ font-size: 10px; font-weight: bold; fill: #ffffff; letter-spacing: 0.6px; }}
.lossh {{ font-size: 14px; font-weight: bold; fill: {LOSS}; }}
.monh {{ font-size: 13px; font-weight: bold; fill: {MONITOR}; }}
"""

out: list[str] = []
arrows: list[str] = []  # drawn last, so no box hides an arrowhead


def add(s: str): out.append(s)


def rect(x, y, w, h, fill, stroke, rx=8, sw=1.5, dash=None, extra=""):
    d = f' stroke-dasharray="{dash}"' if dash else ""
    add(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{d}{extra}/>')


def text(x, y, s, cls="t", anchor="start", fill=None):
    f = f' style="fill:{fill}"' if fill else ""
    add(f'<text x="{x}" y="{y}" class="{cls}" text-anchor="{anchor}"{f}>{escape(s)}</text>')


def lines(x, y, items, step=16, anchor="start"):
    "items: (string, class) pairs, one a line."
    for i, (s, cls) in enumerate(items): text(x, y + i * step, s, cls, anchor)


def badge(x_right, y, label, colour):
    "A pill sitting on a box's top border, right-aligned at x_right."
    w = 8 + 7.2 * len(label)
    rect(x_right - w, y - 9, w, 18, colour, colour, rx=9, sw=1)
    text(x_right - w / 2, y + 3.5, label, "badge", "middle")


def arrow(points, colour=INK, sw=1.6, dash=None, head=True):
    d = " ".join(("M" if i == 0 else "L") + f"{x},{y}" for i, (x, y) in enumerate(points))
    da = f' stroke-dasharray="{dash}"' if dash else ""
    mk = f' marker-end="url(#h{colour[1:]})"' if head else ""
    arrows.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{sw}"{da}{mk}/>')


def marker(colour):
    add(f'<marker id="h{colour[1:]}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')


def tiles(x, y, n, size, gap, fill, stroke):
    for i in range(n): rect(x + i * (size + gap), y, size, size, fill, stroke, rx=3, sw=1.2)


def group(name):
    "Open a <g> whose first rect is the box its texts must fit in (scripts may check that)."
    add(f'<g id="{name}">')


def end(): add("</g>")


# ---------------------------------------------------------------- the figure
add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
    f'aria-labelledby="title desc">')
add('<title id="title">telepathy_nb architecture</title>')
add('<desc id="desc">A frozen source LLM reads the text; a trained Perceiver bridge turns its layer-L hidden states '
    'into K soft tokens; a frozen target LLM reads its task primer followed by the soft tokens and answers. '
    'The label loss and regularisers train the bridge only; monitors watch z and the soft tokens.</desc>')
add(f"<style>{STYLE}</style>")
add("<defs>")
for c in (INK, LOSS, MONITOR, TRAINED["stroke"]): marker(c)
add("</defs>")
rect(0, 0, W, H, "#ffffff", "none", rx=0, sw=0)

# input text
group("text")
rect(20, 222, 128, 80, "#ffffff", INK)
lines(32, 246, [("input text", "b"), ("Review: {text}", "m"), ("Sentiment:", "m")], step=19)
end()
arrow([(148, 262), (196, 262)])

# source LLM: embeddings and blocks up to L; the blocks after L are dropped
group("source")
rect(180, 45, 190, 256, FROZEN["fill"], FROZEN["stroke"])
lines(196, 70, [("Source LLM", "h"), ("SmolLM2-135M, L = 15", "s"), ("ref.: Llama 3.1 8B, L = 16", "s")], step=17)
bx, bw = 196, 158
rect(bx, 120, bw, 24, "none", FROZEN["stroke"], rx=4, sw=1, dash="4 3")
text(bx + bw / 2, 136, "blocks after L: dropped", "s", "middle")
rect(bx, 152, bw, 26, FROZEN["dark"], FROZEN["stroke"], rx=4, sw=1.8)
text(bx + bw / 2, 170, "block L", "b", "middle")
for y, s in ((186, "blocks 2 … L−1"), (218, "block 1"), (250, "token embeddings")):
    rect(bx, y, bw, 24, "#ffffff", FROZEN["stroke"], rx=4, sw=1)
    text(bx + bw / 2, y + 16, s, "s", "middle")
end()
badge(362, 45, "FROZEN", FROZEN["badge"])

# layer-L states into the bridge's cross-attention
arrow([(bx + bw, 165), (476, 165)], sw=2)
lines(410, 144, [("layer-L", "s"), ("states", "s")], step=14, anchor="middle")
text(410, 184, "B×T×d_src", "s", "middle")

# the Perceiver bridge
group("bridge")
rect(450, 30, 292, 300, TRAINED["fill"], TRAINED["stroke"], sw=1.8)
text(466, 55, "Perceiver bridge", "h")
ix, iw = 476, 246
text(ix, 80, "K latent queries (learned)", "t")
tiles(ix, 88, 8, 14, 5, TRAINED["dark"], TRAINED["stroke"])
text(ix + 8 * 19 + 4, 100, "…", "t")
cx = 596  # the bridge's centre line
arrow([(cx, 104), (cx, 143)], TRAINED["stroke"])
rect(ix, 145, iw, 40, "#ffffff", TRAINED["stroke"], rx=6)
lines(ix + 10, 161, [("cross-attention", "b"), ("Q: latents · K, V: source states", "s")], step=16)
arrow([(cx, 185), (cx, 197)], TRAINED["stroke"])
rect(ix, 199, iw, 40, "#ffffff", TRAINED["stroke"], rx=6)
lines(ix + 10, 215, [("self-attention + FFN", "b"), ("pre-LayerNorm; both × depth", "s")], step=16)
arrow([(cx, 239), (cx, 245)], TRAINED["stroke"], head=False)
arrow([(cx, 263), (cx, 269)], TRAINED["stroke"])
add(f'<circle cx="{cx}" cy="254" r="9" fill="#ffffff" stroke="{MONITOR}" stroke-width="1.6"/>')
text(cx, 258.5, "z", "b", "middle")
text(cx - 16, 258, "out proj", "s", "end")
rect(ix, 271, iw, 44, "#ffffff", TRAINED["stroke"], rx=6)
lines(ix + 10, 288, [("output RMS norm", "b"), ("z / rms(z) · scale (learned)", "s")], step=16)
end()
badge(734, 30, "TRAINED", TRAINED["badge"])

# K soft tokens
sx = 596 - (8 * 22 - 4) // 2
arrow([(cx, 315), (cx, 350)], TRAINED["stroke"])
group("soft")
rect(sx - 12, 352, 8 * 22 - 4 + 24, 58, "#ffffff", TRAINED["stroke"], rx=6)
tiles(sx, 360, 8, 18, 4, TRAINED["dark"], TRAINED["stroke"])
text(596, 400, "K soft tokens  B×K×d_tgt", "s", "middle")
end()

# the target's input sequence: the task primer, then the soft tokens (the answer follows them)
arrow([(596, 410), (596, 440)], TRAINED["stroke"])
group("sequence")
rect(450, 442, 292, 46, "#ffffff", INK, rx=6)
rect(456, 448, 112, 34, FROZEN["fill"], FROZEN["stroke"], rx=4, sw=1)
rect(574, 448, 162, 34, TRAINED["dark"], TRAINED["stroke"], rx=4, sw=1)
text(512, 469, "primer", "t", "middle")
text(655, 469, "K soft tokens", "b", "middle")
end()
text(596, 506, "target input embeddings: [primer][soft tokens] → answer", "s", "middle")

# target LLM
arrow([(450, 465), (372, 465)], sw=2)
group("target")
rect(180, 420, 190, 90, FROZEN["fill"], FROZEN["stroke"])
lines(196, 445, [("Target LLM", "h"), ("Gemma-3-270m", "s"), ("ref.: Mistral 7B", "s"), ("reads inputs_embeds", "s")],
      step=17)
end()
badge(362, 420, "FROZEN", FROZEN["badge"])

# answer and label scores
arrow([(180, 465), (150, 465)], sw=2)
group("answer")
rect(20, 420, 128, 90, "#ffffff", INK)
lines(32, 443, [("answer", "b"), ("positive", "m"), ("negative", "m"), ("label scores", "s")], step=18)
end()

# monitors: z before the norm and the soft tokens (logged, never trained on)
group("monitors")
rect(772, 150, 170, 150, "#faf6fd", MONITOR, dash="5 3")
lines(784, 172, [("Monitors", "monh"), ("logged, not trained on", "s"), ("", "s"), ("z_var (on z)", "m"),
                 ("slot_rank, slot_cos", "m"), ("message_rank", "m"), ("soft_rms", "m")], step=17)
end()
arrow([(cx + 9, 254), (770, 254)], MONITOR, dash="3 3")
arrow([(sx + 8 * 22 + 8, 368), (756, 368), (756, 285), (770, 285)], MONITOR, dash="3 3")

# regularisers on the soft tokens, and the loss
group("regularisers")
rect(772, 350, 170, 84, "#fdf0ee", LOSS)
lines(784, 371, [("Regularisers", "lossh"), ("batch diversity", "t"), ("slot spread, VICReg", "t"),
                 ("(optional)", "s")], step=16)
end()
arrow([(sx + 8 * 22 + 8, 392), (770, 392)], LOSS)
arrow([(857, 434), (857, 548)], LOSS)
arrow([(84, 510), (84, 548)], LOSS)
text(92, 533, "label tokens", "s")
group("loss")
rect(20, 550, 922, 58, "#fdf0ee", LOSS, sw=1.8)
text(481, 573, "loss = label LM loss (cross-entropy on the answer tokens) + weighted regularisers", "lossh", "middle")
text(481, 594, "its gradient flows back through the frozen target into the bridge: only the bridge updates", "s",
     "middle")
end()

# legend
ly = 640
rect(20, ly - 11, 22, 16, FROZEN["fill"], FROZEN["stroke"], rx=3, sw=1.2)
text(50, ly + 2, "frozen", "t")
rect(120, ly - 11, 22, 16, TRAINED["fill"], TRAINED["stroke"], rx=3, sw=1.2)
text(150, ly + 2, "trained", "t")
arrow([(228, ly - 3), (266, ly - 3)])
text(274, ly + 2, "forward pass", "t")
arrow([(390, ly - 3), (428, ly - 3)], LOSS)
text(436, ly + 2, "into the loss", "t")
arrow([(548, ly - 3), (586, ly - 3)], MONITOR, dash="3 3")
text(594, ly + 2, "monitored", "t")
text(942, ly + 2, "B batch · T source tokens · K soft tokens", "s", "end")
out.extend(arrows)
add("</svg>")

svg = "\n".join(out) + "\n"
dest = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "nbs" / "images" / "architecture.svg"
dest.parent.mkdir(parents=True, exist_ok=True)
dest.write_text(svg, encoding="utf-8")
print(f"{dest}: {len(svg.encode()) / 1024:.1f} KB")
