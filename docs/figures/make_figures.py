"""Draw the figures of the user guide into docs/figures/ (run once; the PNGs are committed).

    python docs/figures/make_figures.py

shapes.png        shape = batch shape + support shape; size; dims
mixture_axis.png  which axis of the components a Mixture sums over
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

HERE = Path(__file__).resolve().parent
BATCH = "#9ecae1"  # batch axes
SUPPORT = "#fdae6b"  # support axes
MIXTURE = "#a1d99b"  # the mixture axis
GREY = "#d9d9d9"


def grid(axis, x, y, rows, columns, colour, cell=0.32, column_colours=None, label=None):
    """A rows x columns grid of cells whose lower-left corner is (x, y)."""
    for row in range(rows):
        for column in range(columns):
            face = column_colours[column] if column_colours else colour
            axis.add_patch(Rectangle((x + column * cell, y + (rows - 1 - row) * cell), cell, cell,
                                     facecolor=face, edgecolor="black", linewidth=0.8))
    if label:
        axis.text(x + columns * cell / 2, y - 0.18, label, ha="center", va="top", fontsize=9)
    return x + columns * cell, y + rows * cell


def text(axis, x, y, message, **kwargs):
    kwargs.setdefault("fontsize", 10)
    kwargs.setdefault("va", "center")
    axis.text(x, y, message, family="monospace", **kwargs)


def shapes_figure(path):
    figure, axis = plt.subplots(figsize=(10, 5.2))
    axis.set_xlim(0, 10)
    axis.set_ylim(0, 5.6)
    axis.axis("off")

    text(axis, 0.1, 5.3, 'mg.Normal("a", 0, 1, shape=(2, 3))', fontsize=9.5)
    text(axis, 0.1, 5.0, '    # or size=(2, 3)', fontsize=9.5)
    grid(axis, 0.3, 3.9, 2, 3, BATCH, label="shape (2, 3): batch (2, 3), support ()")

    text(axis, 5.1, 5.3, 'mg.MvNormal("d", mu=np.zeros(3), cov=np.eye(3),', fontsize=9.5)
    text(axis, 5.1, 5.0, '           shape=(4, 3))   # or size=4', fontsize=9.5)
    grid(axis, 5.4, 3.35, 4, 3, SUPPORT, column_colours=[SUPPORT] * 3,
         label="shape (4, 3): batch (4,), support (3,)")
    for row in range(4):
        axis.add_patch(Rectangle((5.4, 3.35 + row * 0.32), 0.96, 0.32, fill=False, edgecolor="#d62728",
                                 linewidth=1.8))
    text(axis, 6.5, 4.15, "<- each row is one\n   3-vector draw", fontsize=8.5)

    text(axis, 0.1, 2.95, 'with mg.Model(coords={"city": ["a", "b", "c"], "year": [2020, 2021]}):', fontsize=9.5)
    text(axis, 0.1, 2.65, '    mg.Normal("c", 0, 1, dims=("city", "year"))', fontsize=9.5)
    grid(axis, 1.2, 0.75, 3, 2, BATCH, cell=0.45, label="shape (3, 2), dims ('city', 'year')")
    for row, city in enumerate(["a", "b", "c"]):
        text(axis, 0.95, 0.75 + (2 - row) * 0.45 + 0.22, city, fontsize=9, ha="right")
    for column, year in enumerate(["2020", "2021"]):
        text(axis, 1.2 + column * 0.45 + 0.22, 2.2, year, fontsize=7.5, ha="center")

    axis.add_patch(Rectangle((5.4, 1.7), 0.3, 0.3, facecolor=BATCH, edgecolor="black"))
    text(axis, 5.8, 1.85, "batch axes: independent elements (size=)")
    axis.add_patch(Rectangle((5.4, 1.2), 0.3, 0.3, facecolor=SUPPORT, edgecolor="black"))
    text(axis, 5.8, 1.35, "support axes: one draw of a vector (fixed by the parameters)")
    text(axis, 5.4, 0.75, "shape = size + support shape;  dims name every axis", fontsize=9.5)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def mixture_figure(path):
    figure, axis = plt.subplots(figsize=(11, 6.4))
    axis.set_xlim(0, 11)
    axis.set_ylim(0, 6.6)
    axis.axis("off")

    # 1. list of univariate components
    text(axis, 0.1, 6.35, "list: [Poisson.dist(mu=l1), Poisson.dist(mu=l2)]", fontsize=9)
    grid(axis, 0.3, 5.3, 1, 1, GREY, label="comp 0: ()")
    grid(axis, 1.1, 5.3, 1, 1, GREY, label="comp 1: ()")
    text(axis, 1.7, 5.46, "-> stacked", fontsize=8.5)
    grid(axis, 2.9, 5.3, 1, 2, MIXTURE, label="(K=2,)")
    text(axis, 3.7, 5.46, "w (2,) -> mixture ()", fontsize=8.5)

    # 2. batched univariate
    text(axis, 5.6, 6.35, "batched: Normal.dist(mu=mu, sigma=1, shape=(5, 3))", fontsize=9)
    grid(axis, 5.9, 4.2, 5, 3, BATCH, column_colours=[MIXTURE] * 3, cell=0.26)
    text(axis, 6.8, 5.25, "columns: last axis = mixture axis (K=3)", fontsize=8.5)
    text(axis, 6.8, 4.85, "rows: batch axis (5,), kept", fontsize=8.5)
    text(axis, 6.8, 4.45, "w (3,) or (5, 3) -> mixture (5,)", fontsize=8.5)

    # 3. batched multivariate
    text(axis, 0.1, 3.55, "batched multivariate: Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3))",
         fontsize=9)
    for row in range(2):
        axis.add_patch(Rectangle((0.3, 2.45 + (1 - row) * 0.32), 0.32, 0.32, facecolor=MIXTURE,
                                 edgecolor="black"))
        grid(axis, 0.75, 2.45 + (1 - row) * 0.32, 1, 3, SUPPORT)
    text(axis, 0.3, 2.2, "mixture axis | support (3,)", fontsize=8.5, va="top")
    text(axis, 2.0, 2.77, "<- axis just before the support axes (K=2);\n"
                          "   each draw of 3 values comes whole from one component;\n"
                          "   w (2,) -> mixture (3,)", fontsize=8.5)

    # 4. list of multivariate components with size
    text(axis, 0.1, 1.55, "list of multivariate: [MvNormal.dist(mu=m0, cov=S), MvNormal.dist(mu=m1, cov=S)], size=4",
         fontsize=9)
    grid(axis, 0.3, 0.2, 1, 2, SUPPORT, label="comp 0: (2,)")
    grid(axis, 1.3, 0.2, 1, 2, SUPPORT, label="comp 1: (2,)")
    text(axis, 2.1, 0.36, "-> mixture axis inserted before the support: (2, K=2); "
                          "size=4 gives a mixture of shape (4, 2)", fontsize=8.5)

    axis.add_patch(Rectangle((8.2, 3.1), 0.26, 0.26, facecolor=MIXTURE, edgecolor="black"))
    text(axis, 8.55, 3.23, "mixture axis (summed out)", fontsize=8.5)
    axis.add_patch(Rectangle((8.2, 2.7), 0.26, 0.26, facecolor=BATCH, edgecolor="black"))
    text(axis, 8.55, 2.83, "batch axis (kept)", fontsize=8.5)
    axis.add_patch(Rectangle((8.2, 2.3), 0.26, 0.26, facecolor=SUPPORT, edgecolor="black"))
    text(axis, 8.55, 2.43, "support axis (kept)", fontsize=8.5)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    shapes_figure(HERE / "shapes.png")
    mixture_figure(HERE / "mixture_axis.png")
    print("wrote", HERE / "shapes.png", HERE / "mixture_axis.png")
