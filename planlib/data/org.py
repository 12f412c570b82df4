"""Where each rep was when: the roster, the optional transfers table and the config's reorganisation.

A rep's own series follows the rep wherever they move; a team's or region's series keeps the sales
made while the rep was in it. ``data.reorg`` renames or splits teams, and the history is re-keyed to
the new teams. Pure functions: tables in, tables out. May import ``core`` only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.core.errors import DataError

__all__ = ["FILLED", "apply_reorg_to_roster", "history_teams", "regions_after_moves", "reject_bad_moves", "rep_segments",
           "sale_regions", "sale_teams", "transfer_problems"]

_START = pd.Timestamp("1900-01-01")  # the start of a rep's first segment: before any sale
FILLED = "__region_from_roster"  # sales column (while loading): the region came from the roster, not the file


def _reorg_parts(reorg: dict, team) -> dict[str, float] | None:
    new = reorg.get(team)
    if new is None:
        return None
    return dict(new) if isinstance(new, dict) else {new: 1.0}


def apply_reorg_to_roster(reps: pd.DataFrame, reorg: dict, label: str) -> tuple[pd.DataFrame, int]:
    """Rename the roster's teams that ``reorg`` renames; return the roster and the number of reps renamed.

    Raises
    ------
    DataError
        Reps still listed in a team that the reorg splits (the split's share is for the history; each
        rep's new team must be on the roster), every one named.
    """
    if not reorg or reps.empty:
        return reps, 0
    team = reps["team"].astype(object)
    split = team.map(lambda t: isinstance(reorg.get(t), dict))
    if split.any():
        listed = ", ".join(f"{r} ({t} -> {sorted(reorg[t])})" for r, t in zip(reps["rep_id"][split], team[split]))
        raise DataError(f"{label}: {int(split.sum())} rep(s) are in a team that data.reorg splits: {listed}; "
                        f"give each of them the new team in the reps table (the split's shares divide only the "
                        f"old team's history)")
    renamed = team.isin([t for t, new in reorg.items() if isinstance(new, str)])
    if not renamed.any():
        return reps, 0
    out = reps.copy()
    out["team"] = team.map(lambda t: reorg.get(t, t)).astype(reps["team"].dtype)
    return out, int(renamed.sum())


def transfer_problems(transfers: pd.DataFrame, roster: pd.DataFrame, *, first_sale, as_of,
                      reorg: dict | None = None) -> list[tuple[np.ndarray, str, str]]:
    """Check the transfers table against the roster and the history; return (rows, column, expected) to reject.

    A move is kept when its date lies after the first sale and on or before ``as_of``, no other move of
    the rep has the same date, it changes the rep's team or region, and its "to" side is where the rep
    was after it: the roster's team and region after the rep's last move, the next move's "from" side
    before. Rows are walked from each rep's last move back; a rejected row is skipped in that walk.

    Parameters
    ----------
    transfers : DataFrame
        rep_id, date, from_team, from_region, to_team, to_region (blank or NA: unchanged); rows whose
        rep is not on the roster are already rejected.
    roster : DataFrame
        rep_id, team, region (after ``data.reorg``).
    first_sale, as_of : date-like
        The first sale's date and the plan's ``as_of``: a move outside them is outside the history.
    reorg : dict, optional
        ``data.reorg``: a move's teams are compared after it.

    Returns
    -------
    list of (positions, column, expected)
        Positions (into ``transfers``) with the column to blame and what was expected there.
    """
    reorg = reorg or {}
    out: list[tuple[np.ndarray, str, str]] = []
    date = pd.to_datetime(transfers["date"])
    first, last = pd.Timestamp(first_sale), pd.Timestamp(as_of)
    early = (date <= first).to_numpy(bool)
    late = (date > last).to_numpy(bool)
    out.append((np.flatnonzero(early), "date", f"a date inside the history (after the first sale, "
                                               f"{first.date().isoformat()}): the move would change no sale"))
    out.append((np.flatnonzero(late), "date", f"a date on or before as_of {last.date().isoformat()}"))
    bad = early | late
    same_day = transfers.assign(when_=date)[~bad].duplicated(["rep_id", "when_"], keep=False)
    same = np.zeros(len(transfers), bool)
    same[np.flatnonzero(~bad)[same_day.to_numpy(bool)]] = True
    out.append((np.flatnonzero(same), "date", "one move per rep and day: this rep has two on this date"))
    bad |= same

    def norm(value):
        return None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) \
            or value == "" else str(value)

    def team_name(value):
        parts = _reorg_parts(reorg, value)
        return value if parts is None or len(parts) != 1 else next(iter(parts))

    home = roster.drop_duplicates("rep_id").set_index("rep_id")
    chain_bad: list[tuple[int, str, str]] = []
    order = transfers.assign(when_=date, pos_=np.arange(len(transfers)))[~bad].sort_values(["rep_id", "when_"],
                                                                                          kind="stable")
    for rep, moves in order.groupby("rep_id", sort=True):
        team, region = str(home.at[rep, "team"]), str(home.at[rep, "region"])
        for row in moves.iloc[::-1].itertuples(index=False):
            to_team, to_region = norm(row.to_team), norm(row.to_region)
            split = _reorg_parts(reorg, to_team)
            to_team_ok = to_team is None or team_name(to_team) == team or (split is not None and team in split)
            if not to_team_ok:
                chain_bad.append((row.pos_, "to_team", f"{team}: the rep's team after this move (the roster's, or "
                                                       f"the next move's from_team), not {to_team}"))
                continue
            if to_region is not None and to_region != region:
                chain_bad.append((row.pos_, "to_region", f"{region}: the rep's region after this move (the "
                                                         f"roster's, or the next move's from_region), not {to_region}"))
                continue
            before_team = team_name(norm(row.from_team)) if norm(row.from_team) is not None else team
            before_region = norm(row.from_region) or region
            if (before_team, before_region) == (team, region):
                chain_bad.append((row.pos_, "from_team", "a move that changes the rep's team or region: "
                                                         f"before and after it are {team} in {region}"))
                continue
            team, region = before_team, before_region
    out += [(np.array([pos], dtype=np.int64), column, reason) for pos, column, reason in chain_bad]
    return [(rows, column, reason) for rows, column, reason in out if len(rows)]


def reject_bad_moves(frame, ok, live, rej, raw, positions, roster, sales, as_of, reorg) -> np.ndarray:
    """Reject, with their reasons, the rows of the transfers table that :func:`transfer_problems` finds.

    Called by the loader on the parsed table (``frame``, rows still ``ok``); returns ``ok`` without them.
    """
    if not ok.any():
        return ok
    checked = np.flatnonzero(ok)
    for rows, column, reason in transfer_problems(frame.iloc[checked].reset_index(drop=True), roster,
                                                  first_sale=sales["date"].min(), as_of=as_of, reorg=reorg):
        written = raw.frame[positions[column]].iloc[live[checked[rows]]].to_numpy() if column in positions else ""
        rej.add(live[checked[rows]], raw.header[positions[column]] if column in positions else column, written,
                reason)
        ok[checked[rows]] = False
    return ok


def history_teams(tables: dict, reorg: dict) -> pd.DataFrame | None:
    """The team of each sale for the history's team level (:func:`sale_teams`), or None: the roster's teams."""
    sales, moves = tables["sales"], tables.get("transfers")
    if not reorg and (moves is None or not len(moves)):
        return None
    return sale_teams(sales, rep_segments(tables["reps"], moves), reorg)


def rep_segments(roster: pd.DataFrame, transfers: pd.DataFrame | None) -> pd.DataFrame:
    """Return where each rep was from when: rep_id, start (datetime64), team, region; sorted by start.

    A rep without moves has one segment (the roster's team and region) from the start of time; a
    rep with moves has one before the first move (its "from" side, blank taken from the next state)
    and one from each move's date. ``transfers`` holds only checked rows (see :func:`transfer_problems`).
    """
    home = roster.drop_duplicates("rep_id")
    rows = [(r, _START, str(t), str(g)) for r, t, g in zip(home["rep_id"], home["team"], home["region"])]
    if transfers is not None and len(transfers):
        state = {r: (t, g) for r, _, t, g in rows}
        rows = [row for row in rows if row[0] not in set(transfers["rep_id"])]
        moves = transfers.assign(date=pd.to_datetime(transfers["date"])).sort_values(["rep_id", "date"],
                                                                                     kind="stable")
        for rep, group in moves.groupby("rep_id", sort=True):
            team, region = state[rep]
            for m in group.iloc[::-1].itertuples(index=False):
                rows.append((rep, m.date, team, region))
                team = m.from_team if isinstance(m.from_team, str) and m.from_team else team
                region = m.from_region if isinstance(m.from_region, str) and m.from_region else region
            rows.append((rep, _START, team, region))
    out = pd.DataFrame(rows, columns=["rep_id", "start", "team", "region"]).astype(
        {"rep_id": object, "team": object, "region": object})
    out["start"] = pd.to_datetime(out["start"]).astype("datetime64[ns]")
    return out.sort_values(["start", "rep_id"], kind="stable").reset_index(drop=True)


def _at_sale(sales: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """The segment of each sale (team, region), in the sales' row order."""
    left = pd.DataFrame({"rep_id": sales["rep_id"].astype(object).to_numpy(),
                         "date": pd.to_datetime(sales["date"]).astype("datetime64[ns]").to_numpy(),
                         "_row": np.arange(len(sales))}).sort_values("date", kind="stable")
    left["rep_id"] = left["rep_id"].astype("str")  # one key type on both sides, whatever pandas inferred
    found = pd.merge_asof(left, segments.astype({"rep_id": "str"}), left_on="date", right_on="start", by="rep_id",
                          direction="backward")
    return found.sort_values("_row", kind="stable").reset_index(drop=True)


def sale_regions(sales: pd.DataFrame, segments: pd.DataFrame, from_roster: np.ndarray) -> pd.Series:
    """The region of each sale: the file's own, or (rows in ``from_roster``) the rep's region on its date."""
    at = _at_sale(sales, segments)["region"].to_numpy(dtype=object)
    region = sales["region"].astype(object).to_numpy().copy()
    region[from_roster] = at[from_roster]
    return pd.Series(region, index=sales.index, dtype=sales["region"].dtype)


def regions_after_moves(sales: pd.DataFrame, roster: pd.DataFrame, transfers: pd.DataFrame) -> pd.DataFrame:
    """Return ``sales`` with the region of each row taken from the roster made the rep's region on its date."""
    filled = sales[FILLED].to_numpy(bool)
    out = sales.drop(columns=FILLED)
    if len(transfers) and filled.any():
        out["region"] = sale_regions(out, rep_segments(roster, transfers), filled)
    return out


def sale_teams(sales: pd.DataFrame, segments: pd.DataFrame, reorg: dict | None = None) -> pd.DataFrame:
    """Return the team of each sale, re-keyed by ``reorg``: row (position in ``sales``), team, share.

    A sale is counted to the team its rep was in on its date; a team the reorg renames becomes the
    new team, and one it splits gives each new team its share of the sale (one row each).
    """
    teams = _at_sale(sales, segments)["team"].to_numpy(dtype=object)
    reorg = reorg or {}
    rows = np.arange(len(sales))
    if not reorg:
        return pd.DataFrame({"row": rows, "team": teams, "share": np.ones(len(sales))})
    mapped = np.isin(teams, list(reorg))
    out_rows, out_teams, out_share = [rows[~mapped]], [teams[~mapped]], [np.ones(int((~mapped).sum()))]
    for old in sorted(set(teams[mapped])):
        where = rows[teams == old]
        for new, share in sorted(_reorg_parts(reorg, old).items()):
            out_rows.append(where)
            out_teams.append(np.full(len(where), new, dtype=object))
            out_share.append(np.full(len(where), float(share)))
    return pd.DataFrame({"row": np.concatenate(out_rows), "team": np.concatenate(out_teams),
                         "share": np.concatenate(out_share)})
