"""The sample company's simulation: its constants, calendar, reps, customers and who owns them, the
demand of each region and product, and every deal drawn from it (2022-01 .. 2027-12). ``_simulate`` runs
it once; ``planlib.data.sample`` turns the result into the workbook's input tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "AS_OF", "DEFAULT_SEED", "HISTORY_END", "N_MONTHS", "PRODUCTS", "RAMP_MONTHS", "REGIONS", "SIM_END", "START",
    "expected_sales",
]

DEFAULT_SEED = 20270101
START = pd.Timestamp("2022-01-01")
HISTORY_END = pd.Timestamp("2026-10-31")  # the last closed month of the sample plan (as_of 2026-11-26)
AS_OF = pd.Timestamp("2026-11-26")
SIM_END = pd.Timestamp("2027-12-31")  # the simulation runs through FY2027 so actuals continue it
N_MONTHS = 72  # 2022-01 .. 2027-12

REGIONS = ("East", "South", "North", "West")
PRODUCTS = ("Instruments", "Consumables", "Services")
SPRING_FESTIVAL = {2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10",
                   2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06"}

REVENUE_2022 = 250e6
REGION_SHARE = {"East": 0.36, "South": 0.27, "North": 0.22, "West": 0.15}
REGION_GROWTH = {"East": 0.05, "South": 0.02, "North": -0.04, "West": 0.16}
PRODUCT_SHARE = {"Instruments": 0.45, "Consumables": 0.35, "Services": 0.20}
PRODUCT_GROWTH = {"Instruments": -0.02, "Consumables": 0.04, "Services": 0.12}
# Base month factors before the calendar (Spring Festival, quarter-end weeks, Golden Week).
MONTH_FACTOR = np.array([0.95, 0.97, 1.00, 0.96, 0.97, 1.00, 0.93, 0.92, 1.00, 1.02, 1.02, 1.30])
DEAL_SIZE = {"Instruments": 90_000.0, "Consumables": 6_000.0, "Services": 15_000.0}
DEAL_SPREAD = {"Instruments": 0.45, "Consumables": 0.6, "Services": 0.5}
UNIT_PRICE = {"Instruments": (60_000.0, 0.5), "Consumables": (320.0, 0.4), "Services": (6_500.0, 0.3)}

TEAM_SIZES = {"East-1": 4, "East-2": 4, "South-1": 4, "South-2": 4,
              "North-1": 4, "North-2": 4, "West-1": 3, "West-2": 3}
LEAVERS = [("North-2", "2022-09"), ("East-1", "2023-06"), ("South-2", "2024-03"),
           ("West-1", "2025-08"), ("East-2", "2026-07")]
HIRES = [("North-2", "2022-11"), ("East-1", "2023-08"), ("South-2", "2024-05"), ("West-2", "2024-09"),
         ("West-1", "2025-07"), ("West-1", "2025-10"), ("East-2", "2026-05"), ("West-2", "2026-06"),
         ("South-1", "2026-08"), ("East-2", "2026-09")]
RAMP_MONTHS = 6
N_EXISTING, N_NEW = 2200, 1300

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
         "秀英", "霞", "平", "刚", "建华", "志强", "晓东", "海燕", "雪梅", "子涵", "浩然", "思远", "一鸣",
         "佳怡", "俊杰", "文博", "欣怡", "宇航", "婷婷", "鹏飞", "晨曦", "嘉豪", "立新", "春燕"]
CITIES = {"East": ["上海", "苏州", "杭州", "南京", "宁波", "无锡", "合肥", "济南", "青岛", "常州"],
          "South": ["广州", "深圳", "东莞", "佛山", "厦门", "福州", "南宁", "海口", "珠海", "中山"],
          "North": ["北京", "天津", "石家庄", "太原", "沈阳", "大连", "长春", "哈尔滨", "呼和浩特", "唐山"],
          "West": ["成都", "重庆", "西安", "昆明", "贵阳", "兰州", "乌鲁木齐", "银川", "绵阳", "西宁"]}
STEMS = ["恒达", "华信", "瑞丰", "金源", "博远", "康泰", "中科", "天成", "宏图", "永盛", "鼎新", "安捷",
         "华泰", "联创", "新元", "德润", "汇智", "海纳", "佳禾", "明德", "远景", "晨光", "兴业", "嘉诚",
         "思源", "凯瑞", "立信", "国瑞", "长青", "东方", "普华", "益康", "盛世", "通达", "精工", "优联",
         "华康", "睿博", "宇通", "正源", "广元", "百川", "锦程", "信达", "天瑞", "诺德", "泰和", "博瑞"]
TRADES = ["科技", "生物科技", "医药", "检测技术", "环保科技", "新材料", "精密仪器", "化工", "食品", "电子"]


# --------------------------------------------------------------------------- calendar
def _day_weights(days: pd.DatetimeIndex) -> np.ndarray:
    """Return the relative chance of a deal on each day: weekdays, holidays, quarter-end pushes."""
    dow = days.day_of_week.to_numpy()
    weight = np.where(dow < 5, 1.0, np.where(dow == 5, 0.15, 0.05))
    for sf in SPRING_FESTIVAL.values():
        offset = (days - pd.Timestamp(sf)).days.to_numpy()
        weight[(offset >= -2) & (offset <= 6)] *= 0.08  # the official holiday week
        weight[((offset >= -9) & (offset < -2)) | ((offset > 6) & (offset <= 15))] *= 0.55  # travel weeks
    month, day = days.month.to_numpy(), days.day.to_numpy()
    weight[(month == 10) & (day <= 7)] *= 0.1  # Golden Week
    weight[(month == 5) & (day <= 5)] *= 0.2  # Labour Day
    last_week = day > days.days_in_month.to_numpy() - 8
    weight[np.isin(month, (3, 6, 9, 12)) & last_week] *= 1.8  # reps close the quarter
    return weight


def _month_index(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((dates.year - START.year) * 12 + dates.month - 1)


# --------------------------------------------------------------------------- people and customers
def _names(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = SURNAMES[rng.integers(len(SURNAMES))] + GIVEN[rng.integers(len(GIVEN))]
        if name not in out:
            out.append(name)
    return out


def _company_names(rng: np.random.Generator, regions: np.ndarray) -> list[str]:
    seen: set[str] = set()
    out = []
    for region in regions:
        while True:
            city = CITIES[region][rng.integers(10)]
            suffix = "股份有限公司" if rng.random() < 0.12 else "有限公司"
            name = city + STEMS[rng.integers(len(STEMS))] + TRADES[rng.integers(len(TRADES))] + suffix
            if name not in seen:
                seen.add(name)
                out.append(name)
                break
    return out


def _reps(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for team, size in TEAM_SIZES.items():
        for _ in range(size):
            hired = pd.Timestamp("2012-03-01") + pd.Timedelta(days=int(rng.integers(0, 3500)))
            rows.append({"team": team, "hire_date": hired, "exit_date": pd.NaT})
    reps = pd.DataFrame(rows)
    for team, month in LEAVERS:
        who = rng.choice(reps.index[(reps.team == team) & reps.exit_date.isna()])
        reps.loc[who, "exit_date"] = pd.Timestamp(f"{month}-01") + pd.Timedelta(days=int(rng.integers(0, 28)))
    hires = [{"team": team, "hire_date": pd.Timestamp(f"{month}-01") + pd.Timedelta(days=int(rng.integers(0, 28))),
              "exit_date": pd.NaT} for team, month in HIRES]
    reps = pd.concat([reps, pd.DataFrame(hires)], ignore_index=True)
    reps = reps.sort_values(["hire_date", "team"], kind="stable").reset_index(drop=True)
    n = len(reps)
    reps.insert(0, "rep_id", [f"R{i + 1:03d}" for i in range(n)])
    reps.insert(1, "name", _names(rng, n))
    reps["region"] = reps.team.str.split("-").str[0]
    reps["role"] = "rep"
    reps["fte"] = 1.0
    reps.loc[rng.choice(n, 4, replace=False), "fte"] = [0.8, 0.8, 0.8, 0.5]
    return reps[["rep_id", "name", "team", "region", "role", "hire_date", "exit_date", "fte"]]


def _rep_months(reps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return each rep's first month with a book (the month after hire) and last month (exit month)."""
    first = np.maximum(_month_index(pd.DatetimeIndex(reps.hire_date)) + 1, 0)
    exits = pd.DatetimeIndex(reps.exit_date)
    last = np.where(exits.isna(), N_MONTHS, _month_index(exits.fillna(START)))
    return first, last


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    n = N_EXISTING + N_NEW
    region_p = np.array([0.33, 0.27, 0.22, 0.18])
    # New logos come faster where the region grows: West gets more of them, North few.
    new_p = np.array([0.30, 0.24, 0.12, 0.34])
    region = np.concatenate([rng.choice(4, N_EXISTING, p=region_p), rng.choice(4, N_NEW, p=new_p)])
    acquisition_rate = np.linspace(1.0, 1.6, N_MONTHS - 1)  # marketing wins more new logos each year
    acquisition_rate /= acquisition_rate.sum()
    acquired = np.concatenate([np.zeros(N_EXISTING, int),
                               np.sort(rng.choice(np.arange(1, N_MONTHS), N_NEW, p=acquisition_rate))])
    # Wallet sizes are heavy-tailed (a few key accounts buy most), capped so no single account is over ~4%.
    weight = np.minimum(rng.lognormal(0.0, 1.35, n), 150.0)
    # Key accounts rarely leave; small ones churn at about 7% a year.
    hazard = np.where(weight > np.quantile(weight, 0.9), 0.02, 0.07)
    churn = np.minimum(acquired + 1 + (rng.exponential(1.0, n) * 12 / hazard).astype(int), 10_000)
    base_mix = np.array(list(PRODUCT_SHARE.values()))
    mix = rng.dirichlet(6.0 * base_mix, n)
    names = _company_names(rng, np.array(REGIONS)[region])
    return pd.DataFrame({"customer_id": [f"C{i + 1:05d}" for i in range(n)], "customer_name": names,
                         "region_idx": region, "acquired": acquired, "churn": churn, "weight": weight,
                         "mix_0": mix[:, 0], "mix_1": mix[:, 1], "mix_2": mix[:, 2]})


def _ownership(rng: np.random.Generator, reps: pd.DataFrame, cust: pd.DataFrame) -> np.ndarray:
    """Return owner[c, m], the rep index owning customer c in month m (-1 before it is won).

    A leaver's book goes to teammates; a new hire takes over part of the team's book and
    is favoured for new logos in the first year.
    """
    first, last = _rep_months(reps)
    team = reps.team.to_numpy()
    region = reps.region.map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
    fte = reps.fte.to_numpy()
    c_region = cust.region_idx.to_numpy()
    acquired, churn = cust.acquired.to_numpy(), cust.churn.to_numpy()
    small = cust.weight.to_numpy() < np.quantile(cust.weight, 0.9)
    owner = np.full(len(cust), -1)
    hist = np.full((len(cust), N_MONTHS + 1), -1)
    for m in range(N_MONTHS + 1):
        active = (first <= m) & (m <= last)
        for r in np.flatnonzero(last == m - 1):
            mine = np.flatnonzero(owner == r)
            mates = np.flatnonzero(active & (team == team[r]))
            owner[mine] = rng.choice(mates, len(mine))
        for r in np.flatnonzero((first == m) & (m > 0)):
            mates = active & (team == team[r])
            # Key accounts stay with experienced reps: a new hire gets the smaller accounts.
            pool = np.flatnonzero(np.isin(owner, np.flatnonzero(mates)) & (owner != r) & (churn > m) & small)
            take = rng.choice(pool, int(round(0.7 * len(pool) / mates.sum())), replace=False)
            owner[np.sort(take)] = r
        for g in range(len(REGIONS)):
            new = np.flatnonzero((acquired == m) & (c_region == g))
            cand = np.flatnonzero(active & (region == g))
            if len(new):
                hunt = fte[cand] * np.where(m - first[cand] < 12, 1.6, 1.0)
                owner[new] = rng.choice(cand, len(new), p=hunt / hunt.sum())
        hist[:, m] = owner
    return hist


def _rep_factor(rng: np.random.Generator, reps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return factor[r, m] (skill times the new-hire ramp and a slump before leaving) and skill[r]."""
    first, last = _rep_months(reps)
    skill = rng.lognormal(0.0, 0.22, len(reps))
    skill /= skill.mean()
    m = np.arange(N_MONTHS + 1)[None, :]
    tenure = m - first[:, None]  # 0 in the first month with a book
    hired_in_sim = (reps.hire_date >= START).to_numpy()[:, None]
    ramp = np.where(hired_in_sim, 0.3 + 0.7 * np.clip(tenure / RAMP_MONTHS, 0, 1), 1.0)
    slump = np.where((m >= last[:, None] - 2) & (m <= last[:, None]), 0.8, 1.0)
    return skill[:, None] * ramp * slump, skill


def _targets(rng: np.random.Generator, month_weight: np.ndarray) -> np.ndarray:
    """Return the expected revenue of each region and product in each month, T[g, p, m]."""
    years = (np.arange(N_MONTHS + 1) - 5.5) / 12
    season = MONTH_FACTOR[np.arange(N_MONTHS + 1) % 12] * month_weight
    season /= season[:60].mean()
    out = np.zeros((len(REGIONS), len(PRODUCTS), N_MONTHS + 1))
    for g, region in enumerate(REGIONS):
        for p, product in enumerate(PRODUCTS):
            growth = (1 + REGION_GROWTH[region]) * (1 + PRODUCT_GROWTH[product]) - 1 + rng.normal(0, 0.01)
            level = REVENUE_2022 * REGION_SHARE[region] * PRODUCT_SHARE[product] / 12
            noise = rng.lognormal(-0.04 ** 2 / 2, 0.04, N_MONTHS + 1)
            out[g, p] = level * (1 + growth) ** years * season * noise
    out[0, :, 3] *= 0.65  # the Shanghai lockdown of April-May 2022 hit East
    out[0, :, 4] *= 0.8
    return out


# --------------------------------------------------------------------------- deals
def expected_sales(cust: pd.DataFrame, owner: np.ndarray, factor: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Return the expected sales of each customer, product and month before deal noise.

    A region's demand is shared over its customers' wallets, and each customer buys its share
    times the factor of the rep who owns it that month (skill, ramp, slump): the sales force
    moves sales only through who owns which wallet.

    Parameters
    ----------
    cust : pandas.DataFrame
        The simulation's customers (region_idx, acquired, churn, weight, mix_0..mix_2).
    owner : numpy.ndarray
        (customers, N_MONTHS + 1): the rep index owning each customer each month, -1 before it is won.
    factor : numpy.ndarray
        (reps, N_MONTHS + 1): each rep's skill times ramp and slump.
    targets : numpy.ndarray
        (regions, products, N_MONTHS + 1): each region's and product's demand.

    Returns
    -------
    numpy.ndarray
        (customers, products, N_MONTHS) expected sales in CNY.
    """
    months = np.arange(N_MONTHS)
    c_region = cust.region_idx.to_numpy()
    acquired, churn, weight = cust.acquired.to_numpy(), cust.churn.to_numpy(), cust.weight.to_numpy()
    mix = cust[["mix_0", "mix_1", "mix_2"]].to_numpy()
    alive = (acquired[:, None] <= months) & (months < churn[:, None])
    # A new logo buys less in its first half-year while it tries us out.
    newness = np.where((acquired[:, None] > 0) & (months - acquired[:, None] < 6), 0.6, 1.0)
    wallet = weight[:, None, None] * mix[:, :, None] * (alive * newness)[:, None, :]
    region_wallet = np.stack([wallet[c_region == g].sum(axis=0) for g in range(len(REGIONS))])
    rep_now = owner[:, :N_MONTHS]
    skill_now = np.where(rep_now >= 0, factor[np.maximum(rep_now, 0), months], 0.0)
    return targets[c_region][:, :, :N_MONTHS] * wallet / region_wallet[c_region] * skill_now[:, None, :]


def _deals(rng: np.random.Generator, reps: pd.DataFrame, cust: pd.DataFrame, owner: np.ndarray,
           factor: np.ndarray, targets: np.ndarray, days: pd.DatetimeIndex, day_weight: np.ndarray) -> pd.DataFrame:
    """Draw every deal of the simulation (2022-01 .. 2027-12), credit notes included, in date order."""
    c_region, weight = cust.region_idx.to_numpy(), cust.weight.to_numpy()
    expected = expected_sales(cust, owner, factor, targets)
    # Big customers place bigger orders as well as more of them.
    size = np.clip((weight / np.median(weight)) ** 0.35, 0.4, 6.0)
    deal_size = np.array([DEAL_SIZE[p] for p in PRODUCTS])[None, :] * size[:, None]
    counts = rng.poisson(expected / deal_size[:, :, None])
    c, p, m = np.nonzero(counts)
    reps_n = counts[c, p, m]
    c, p, m = np.repeat(c, reps_n), np.repeat(p, reps_n), np.repeat(m, reps_n)
    spread = np.array([DEAL_SPREAD[x] for x in PRODUCTS])[p]
    target_amount = deal_size[c, p] * rng.lognormal(-spread ** 2 / 2, spread)
    mu = np.array([UNIT_PRICE[x][0] for x in PRODUCTS])[p]
    sd = np.array([UNIT_PRICE[x][1] for x in PRODUCTS])[p]
    quantity = np.maximum(1, np.round(target_amount / rng.lognormal(np.log(mu), sd))).astype(np.int64)
    unit_price = np.round(target_amount / quantity, 2)
    day = _draw_days(rng, m, days, day_weight)
    rep = _rep_on_day(reps, owner, c, day, days)

    # Credit notes: returns of part of a delivery, or price corrections after a complaint.
    pick = np.flatnonzero(rng.random(len(c)) < 0.005)
    credit_day = day[pick] + rng.integers(7, 61, len(pick))
    keep = credit_day < len(days)
    pick, credit_day = pick[keep], credit_day[keep]
    returned = rng.random(len(pick)) < 0.6
    units = np.minimum(rng.integers(1, 4, len(pick)), quantity[pick])
    credit_amount = np.where(returned, -units * unit_price[pick],
                             -np.round(quantity[pick] * unit_price[pick] * rng.uniform(0.03, 0.25, len(pick)), 2))
    credit_c = c[pick]
    deals = pd.DataFrame({
        "day": np.concatenate([day, credit_day]),
        "c": np.concatenate([c, credit_c]),
        "p": np.concatenate([p, p[pick]]),
        "amount": np.round(np.concatenate([quantity * unit_price, credit_amount]), 2),
        "quantity": np.concatenate([quantity, np.where(returned, -units, 0)]),
        "r": np.concatenate([rep, _rep_on_day(reps, owner, credit_c, credit_day, days)]),
    })
    deals = deals.sort_values(["day", "c", "p"], kind="stable").reset_index(drop=True)
    out = pd.DataFrame({
        "deal_id": [f"D{i + 1:06d}" for i in range(len(deals))],
        "date": days[deals.day.to_numpy()],
        "amount": deals.amount.to_numpy(),
        "quantity": deals.quantity.to_numpy(),
        "rep_id": reps.rep_id.to_numpy()[deals.r.to_numpy()],
        "customer_id": cust.customer_id.to_numpy()[deals.c.to_numpy()],
        "customer_name": cust.customer_name.to_numpy()[deals.c.to_numpy()],
        "product": np.array(PRODUCTS)[deals.p.to_numpy()],
        "region": np.array(REGIONS)[c_region[deals.c.to_numpy()]],
    })
    return out


def _draw_days(rng: np.random.Generator, m: np.ndarray, days: pd.DatetimeIndex, day_weight: np.ndarray) -> np.ndarray:
    """Return a day index for each deal in month ``m``, drawn by the day weights of that month."""
    cum = np.cumsum(day_weight)
    month_of_day = _month_index(days)
    first_day = np.searchsorted(month_of_day, np.arange(N_MONTHS))
    before = np.concatenate([[0.0], cum])[first_day]
    month_total = np.bincount(month_of_day, weights=day_weight, minlength=N_MONTHS)
    point = before[m] + rng.random(len(m)) * month_total[m]
    day = np.searchsorted(cum, point, side="right")
    last_day = np.concatenate([first_day[1:], [len(days)]]) - 1
    return np.clip(day, first_day[m], last_day[m])


def _rep_on_day(reps: pd.DataFrame, owner: np.ndarray, c: np.ndarray, day: np.ndarray,
                days: pd.DatetimeIndex) -> np.ndarray:
    """Return the rep serving customer ``c`` on ``day``: in an exit month, the successor after the exit date."""
    m = _month_index(days[day])
    rep = owner[c, m]
    exit_day = (pd.DatetimeIndex(reps.exit_date) - START).days.to_numpy(dtype=float)
    left = np.nan_to_num(exit_day[rep], nan=np.inf) < day
    rep[left] = owner[c[left], m[left] + 1]
    return rep


# --------------------------------------------------------------------------- the whole simulation
def _simulate(seed: int) -> dict[str, object]:
    """Run the whole simulation once; each part draws from its own child of the seed."""
    rng = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(10)]
    days = pd.date_range(START, SIM_END, freq="D")
    day_weight = _day_weights(days)
    month_weight = np.bincount(_month_index(days), weights=day_weight, minlength=N_MONTHS)
    month_weight = np.append(month_weight, month_weight[-12])  # one month past the end, for successors
    reps = _reps(rng[0])
    cust = _customers(rng[1])
    owner = _ownership(rng[2], reps, cust)
    factor, skill = _rep_factor(rng[3], reps)
    targets = _targets(rng[4], month_weight / month_weight.mean())
    deals = _deals(rng[5], reps, cust, owner, factor, targets, days, day_weight)
    return {"reps": reps, "customers": cust, "owner": owner, "targets": targets, "deals": deals,
            "skill": skill, "factor": factor, "rng": rng}
