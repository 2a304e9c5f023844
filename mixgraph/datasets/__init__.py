"""Small real data sets for mixture models, shipped with the package."""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_galaxies", "load_old_faithful"]


def _read_csv(filename: str) -> tuple[list[str], np.ndarray]:
    text = resources.files(__name__).joinpath(filename).read_text()
    header, *rows = text.strip().splitlines()
    return header.split(","), np.array([[float(cell) for cell in row.split(",")] for row in rows])


def load_galaxies(scale: float = 1000.0) -> np.ndarray:
    """Radial velocities of 82 galaxies in the Corona Borealis region.

    Parameters
    ----------
    scale : float
        The velocities (km/s) are divided by this; the default gives the
        usual units of 1000 km/s.

    Returns
    -------
    numpy.ndarray
        Shape (82,).

    Notes
    -----
    Postman, Huchra and Geller (1986), Astronomical Journal 92, 1238; made a
    mixture benchmark by Roeder (1990), JASA 85, 617-624; distributed as R's
    ``MASS::galaxies``. This copy has 26690 as the 78th value (Roeder's table;
    MASS long printed 26960).
    """
    _, values = _read_csv("galaxies.csv")
    return values[:, 0] / scale


def load_old_faithful() -> np.ndarray:
    """Old Faithful geyser: eruption duration and waiting time, in minutes.

    Returns
    -------
    numpy.ndarray
        Shape (272, 2): columns ``eruptions`` and ``waiting``.

    Notes
    -----
    Azzalini and Bowman (1990), Applied Statistics 39, 357-365; distributed
    as R's ``datasets::faithful``.
    """
    _, values = _read_csv("old_faithful.csv")
    return values
