"""Bradley–Terry ratings from pairwise outcomes, with bootstrap intervals over inputs.

Model: ``P(i beats j) = 1 / (1 + exp(-(theta_i - theta_j)))``. ``theta`` is fitted by Hunter's
(2004) MM algorithm (hand-written in numpy: no BT library is a dependency), a tie counts half a
win for each side (as Chatbot Arena does), and every pair of models gets one virtual tie (a weak
prior, so a model that never wins keeps a finite rating and a disconnected comparison graph still
has a fit). Ratings are centred (mean 0); ``400 / ln 10 * theta`` is the Elo scale.

Intervals: a seeded percentile bootstrap that resamples the *inputs* (rows) with replacement,
all pairs of a row together (a row's comparisons share its difficulty), then refits.
Percentile rather than BCa: BCa needs a jackknife refit per row and the ratings' sampling
distribution is close to symmetric once each pair has a few dozen rows.

    >>> import numpy as np
    >>> wins = np.array([[[0, 1], [0, 0]]] * 8 + [[[0, 0], [1, 0]]] * 2, dtype=float)
    >>> fit = bradley_terry(wins.sum(axis=0))
    >>> round(float(fit[0] - fit[1]), 3)  # (8 + 0.5) / (2 + 0.5) wins: log 3.4
    1.224
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

#: Virtual games added to every pair (split as half a win each way).
PRIOR_GAMES = 1.0


def bradley_terry(
    wins: np.ndarray, *, prior: float = PRIOR_GAMES, tol: float = 1e-10, max_iter: int = 10_000
) -> np.ndarray:
    """Centred log-strengths ``theta`` from ``wins[i, j]`` = times i beat j (ties as 0.5 each).

    ``wins`` may carry a leading batch axis (``(b, k, k)``): each slice is fitted at once.
    """
    w = np.asarray(wins, dtype=float)
    single = w.ndim == 2
    w = w[None] if single else w
    k = w.shape[-1]
    off = 1.0 - np.eye(k)
    w = w * off + prior / 2 * off
    games = w + np.swapaxes(w, -1, -2)  # n_ij
    total_wins = w.sum(axis=-1)  # W_i
    p = np.ones(w.shape[:-1])
    for _ in range(max_iter):
        denom = (games / (p[..., :, None] + p[..., None, :])).sum(axis=-1)
        new = total_wins / denom
        new /= np.exp(np.log(new).mean(axis=-1, keepdims=True))  # geometric mean 1
        done = np.max(np.abs(np.log(new) - np.log(p))) < tol
        p = new
        if done:
            break
    theta = np.log(p)
    theta -= theta.mean(axis=-1, keepdims=True)
    return theta[0] if single else theta


@dataclass(frozen=True)
class Ratings:
    """BT ratings of ``models`` with percentile-bootstrap intervals (``level``, default 95%)."""

    models: tuple[str, ...]
    theta: np.ndarray
    low: np.ndarray
    high: np.ndarray
    win_rate: np.ndarray
    win_rate_low: np.ndarray
    win_rate_high: np.ndarray
    n_bootstrap: int
    seed: int
    level: float

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            m: {
                "rating": float(self.theta[i]),
                "rating_ci_low": float(self.low[i]),
                "rating_ci_high": float(self.high[i]),
                "win_rate": float(self.win_rate[i]),
                "win_rate_ci_low": float(self.win_rate_low[i]),
                "win_rate_ci_high": float(self.win_rate_high[i]),
            }
            for i, m in enumerate(self.models)
        }


def _win_rates(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    """Share of each model's decided-or-tied comparisons it won outright (ties count 0)."""
    played = games.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(played > 0, wins.sum(axis=-1) / np.maximum(played, 1e-300), np.nan)


def rate(
    models: tuple[str, ...],
    row_wins: np.ndarray,
    row_games: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Ratings:
    """Ratings and intervals from per-row matrices.

    ``row_wins[r, i, j]``: outright wins of i over j on row r; ``row_games[r, i, j]``: scored
    comparisons of i and j on row r (ties included). Ties enter the fit as half a win each.
    """
    row_wins = np.asarray(row_wins, dtype=float)
    row_games = np.asarray(row_games, dtype=float)
    ties = row_games - row_wins - np.swapaxes(row_wins, -1, -2)
    row_bt = row_wins + ties / 2
    theta = bradley_terry(row_bt.sum(axis=0))
    win_rate = _win_rates(row_wins.sum(axis=0), row_games.sum(axis=0))
    k, n = len(models), len(row_wins)
    if n == 0 or n_bootstrap < 1:
        nan = np.full(k, np.nan)
        return Ratings(models, theta, nan, nan, win_rate, nan, nan, 0, seed, level)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(float)
    boot_theta = np.empty((n_bootstrap, k))
    boot_rate = np.empty((n_bootstrap, k))
    for start in range(0, n_bootstrap, 200):  # batches keep memory at 200 x k x k
        c = counts[start : start + 200]
        boot_theta[start : start + 200] = bradley_terry(np.tensordot(c, row_bt, axes=1))
        boot_rate[start : start + 200] = _win_rates(
            np.tensordot(c, row_wins, axes=1), np.tensordot(c, row_games, axes=1)
        )
    alpha = (1 - level) / 2
    low, high = np.quantile(boot_theta, [alpha, 1 - alpha], axis=0)
    with warnings.catch_warnings():  # a model never scored: NaN interval, no warning
        warnings.simplefilter("ignore", RuntimeWarning)
        rate_low, rate_high = np.nanquantile(boot_rate, [alpha, 1 - alpha], axis=0)
    return Ratings(
        models, theta, low, high, win_rate, rate_low, rate_high, n_bootstrap, seed, level
    )
