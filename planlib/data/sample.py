"""The embedded sample company: a seeded simulation of a fictional B2B seller in China (CNY).

``generate`` returns every input table of the workbook, ``write_sample`` writes them as
byte-stable CSV, and ``generate_actuals`` continues the same simulation into FY2027.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError

DEFAULT_SEED = 20270101
START = pd.Timestamp("2022-01-01")
HISTORY_END = pd.Timestamp("2026-10-31")  # the last closed month of the sample plan (as_of 2026-11-26)
AS_OF = pd.Timestamp("2026-11-26")
SIM_END = pd.Timestamp("2027-12-31")  # the simulation runs through FY2027 so actuals continue it
N_MONTHS = 72  # 2022-01 .. 2027-12

REGIONS = ("East", "South", "North", "West")
PRODUCTS = ("Instruments", "Consumables", "Services")
STAGES = {"Qualify": 0.10, "Develop": 0.25, "Propose": 0.50, "Negotiate": 0.75}
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


# --------------------------------------------------------------------------- side tables
def _pipeline(rng: np.random.Generator, deals: pd.DataFrame, owner: np.ndarray, cust: pd.DataFrame,
              reps: pd.DataFrame) -> pd.DataFrame:
    """Return the open opportunities on 2026-11-26: most of the later big deals plus ones that will be lost."""
    horizon = pd.Timestamp("2027-09-30")
    future = deals[(deals.date > AS_OF) & (deals.date <= horizon) & (deals.amount >= 60_000)]
    days_out = (future.date - AS_OF).dt.days.to_numpy()
    # Near deals are mostly in the CRM already; far ones often not yet.
    seen = rng.random(len(future)) < np.interp(days_out, [0, 90, 300], [0.9, 0.7, 0.3])
    won = future[seen]
    close = won.date.to_numpy() + pd.to_timedelta(rng.integers(-10, 21, len(won)), unit="D").to_numpy()
    close = np.clip(close, (AS_OF + pd.Timedelta(days=1)).to_datetime64(), horizon.to_datetime64())
    real = pd.DataFrame({"rep_id": won.rep_id.to_numpy(), "customer_id": won.customer_id.to_numpy(),
                         "product": won["product"].to_numpy(),
                         "amount": np.round(won.amount.to_numpy() * rng.lognormal(0, 0.12, len(won)), -2),
                         "expected_close": pd.DatetimeIndex(close)})
    # Opportunities that will be lost or slip: same reps and products, other customers of the rep.
    n_lost = int(0.9 * len(real))
    template = real.iloc[rng.integers(0, len(real), n_lost)].reset_index(drop=True)
    m_now = _month_index(pd.DatetimeIndex([AS_OF]))[0]
    rep_index = {r: i for i, r in enumerate(reps.rep_id)}
    alive = (cust.acquired.to_numpy() <= m_now) & (cust.churn.to_numpy() > m_now)
    lost_customers = []
    for rep_id in template.rep_id:
        book = np.flatnonzero((owner[:, m_now] == rep_index[rep_id]) & alive)
        lost_customers.append(cust.customer_id.iloc[rng.choice(book)])
    lost = pd.DataFrame({"rep_id": template.rep_id, "customer_id": lost_customers, "product": template["product"],
                         "amount": np.round(template.amount.to_numpy() * rng.lognormal(0, 0.35, n_lost), -2),
                         "expected_close": AS_OF + pd.to_timedelta(rng.integers(4, 309, n_lost), unit="D")})
    opps = pd.concat([real.assign(lost=False), lost.assign(lost=True)], ignore_index=True)
    days_to_close = (opps.expected_close - AS_OF).dt.days.to_numpy()
    stage_p = np.where(days_to_close[:, None] < 45, [0.05, 0.15, 0.3, 0.5],
                       np.where(days_to_close[:, None] < 120, [0.15, 0.3, 0.35, 0.2], [0.45, 0.35, 0.15, 0.05]))
    stage = (rng.random(len(opps))[:, None] > np.cumsum(stage_p, axis=1)).sum(axis=1)
    stage = np.where(opps.lost & (rng.random(len(opps)) < 0.5), np.maximum(stage - 1, 0), stage)
    names = list(STAGES)
    opps["stage"] = np.array(names)[np.minimum(stage, 3)]
    opps["probability"] = opps.stage.map(STAGES).astype(float)
    opps = opps.sort_values(["expected_close", "rep_id", "customer_id", "amount"], kind="stable").reset_index(drop=True)
    opps.insert(0, "opportunity_id", [f"OP{i + 1:05d}" for i in range(len(opps))])
    return opps[["opportunity_id", "rep_id", "customer_id", "product", "stage", "amount", "expected_close",
                 "probability"]]


def _kpis(rng: np.random.Generator, reps: pd.DataFrame, skill: np.ndarray) -> pd.DataFrame:
    """Return quarterly scorecard inputs per rep (2022Q1 .. 2026Q3, quarters the rep worked in)."""
    n = len(reps)
    satisfaction = np.clip(3.9 + 1.2 * (skill - 1) + rng.normal(0, 0.2, n), 2.8, 4.8)
    calls = rng.uniform(170, 330, n) * (0.8 + 0.2 * skill)
    teamwork = rng.uniform(3.3, 4.7, n)
    rows = []
    for q in pd.period_range("2022Q1", "2026Q3", freq="Q"):
        q_start, q_end = q.start_time.normalize(), q.end_time.normalize()
        for i, rep in reps.iterrows():
            start = max(q_start, rep.hire_date)
            end = q_end if pd.isna(rep.exit_date) else min(q_end, rep.exit_date)
            if start > end:
                continue
            worked = ((end - start).days + 1) / ((q_end - q_start).days + 1)
            tenure = (q_end - rep.hire_date).days / 30.4
            ramping = tenure < RAMP_MONTHS + 3
            values = {
                "satisfaction": np.clip(satisfaction[i] + rng.normal(0, 0.15), 1, 5),
                "activity": np.round(calls[i] * worked * (0.7 if ramping else 1.0) * rng.lognormal(0, 0.1)),
                "teamwork": np.clip(teamwork[i] + rng.normal(0, 0.2), 1, 5),
                "learning": np.round((rng.uniform(28, 45) if ramping else rng.uniform(4, 16)) * worked, 1),
            }
            rows += [{"rep_id": rep.rep_id, "period": str(q), "metric": k, "value": round(float(v), 2)}
                     for k, v in values.items()]
    return pd.DataFrame(rows)


def _market(rng: np.random.Generator, targets: np.ndarray) -> pd.DataFrame:
    """Return the market size and growth per region, product and year (2022-2027), in CNY."""
    rows = []
    for g, region in enumerate(REGIONS):
        for p, product in enumerate(PRODUCTS):
            ours = targets[g, p, :N_MONTHS].reshape(6, 12).sum(axis=1)
            share = rng.uniform(0.06, 0.16)
            ours_growth = (ours[-1] / ours[1]) ** (1 / 4) - 1
            # The market moves with us but less: we gain share where we grow fast (West, Services).
            base_growth = 0.7 * ours_growth + 0.02 + rng.uniform(-0.01, 0.01)
            size = ours[0] / share / (1 + base_growth)
            for k, year in enumerate(range(2022, 2028)):
                growth = round(base_growth + rng.normal(0, 0.012), 2)
                size *= 1 + growth
                rows.append({"region": region, "product": product, "year": year,
                             "market_size": round(size, -3), "market_growth": growth})
    return pd.DataFrame(rows)


COMPETITORS = [
    ("Kronberg Analytik", 0.15, {"East": 1.3, "South": 1.1, "North": 0.9, "West": 0.6},
     "German premium instruments; strong with research labs and multinationals"),
    ("Meridian Life Sciences", 0.13, {"East": 1.1, "South": 1.2, "North": 1.0, "West": 0.7},
     "US broad-line supplier; bundles consumables with instruments"),
    ("华测精密 Huace Precision", 0.10, {"East": 0.8, "South": 0.8, "North": 1.6, "West": 1.0},
     "Domestic instruments maker; 15-25% below our list prices; strong in tenders"),
    ("蓝海仪器 Lanhai Instruments", 0.07, {"East": 0.6, "South": 0.8, "North": 0.9, "West": 1.9},
     "Fast-growing domestic challenger; new plant in Chengdu since 2024"),
    ("启明生物 Qiming Bio", 0.06, {"East": 1.1, "South": 1.2, "North": 0.9, "West": 0.8},
     "Consumables specialist; e-commerce channel and next-day delivery"),
    ("Sato Scientific", 0.05, {"East": 1.4, "South": 1.0, "North": 0.8, "West": 0.5},
     "Japanese instruments; service-heavy contracts with long warranties"),
    ("众联服务 Zhonglian Services", 0.04, {"East": 1.0, "South": 1.0, "North": 1.0, "West": 1.3},
     "Third-party maintenance; undercuts our service contracts on older instruments"),
]


def _competitors(rng: np.random.Generator) -> pd.DataFrame:
    """Return each competitor's share of each regional market (all products), with a note."""
    rows = [{"competitor": name, "region": region, "share": round(base * tilt[region] * rng.uniform(0.85, 1.15), 2),
             "notes": note} for name, base, tilt, note in COMPETITORS for region in REGIONS]
    return pd.DataFrame(rows)


def _risks(history: pd.DataFrame) -> pd.DataFrame:
    """Return the risk register of the FY2027 plan; customer risks name the two largest 2025 customers."""
    year = history[history.date.dt.year == 2025]
    by_customer = year.groupby("customer_id").amount.sum().sort_values(ascending=False, kind="stable")
    top, second = by_customer.index[:2]
    rows = [
        ("Price war by a domestic challenger in West", "market", 0.35, "6%", "region:West", "Head of West",
         "Value selling on total cost of ownership; pre-approved discount bands", "open"),
        (f"Largest customer {top} moves to dual sourcing", "customer", 0.25,
         f"{round(by_customer[top] * 0.4, -5):.0f}", f"customer:{top}", "Key account manager",
         "Three-year framework agreement with volume rebate", "mitigating"),
        ("New hires ramp slower than six months", "people", 0.40, "3000000", "company", "VP Sales",
         "Buddy system and a 90-day onboarding plan per hire", "mitigating"),
        ("Loss of a senior rep in East", "people", 0.20, "4%", "region:East", "Head of East",
         "Retention bonus for top performers; shared account coverage", "open"),
        ("Next instrument model launch slips to Q3", "product", 0.30, "8%", "product:Instruments",
         "Product manager Instruments", "Extend current model promotion; early-access units for key labs", "open"),
        ("Import delays of reagents at customs", "operations", 0.25, "5%", "product:Consumables",
         "Supply chain manager", "Six weeks of safety stock in the Shanghai and Chengdu warehouses", "mitigating"),
        ("Public lab budget freeze in North", "market", 0.30, "7%", "region:North", "Head of North",
         "Shift effort to private labs and service renewals", "open"),
        (f"Tender re-run at second-largest customer {second}", "customer", 0.20,
         f"{round(by_customer[second] * 0.5, -5):.0f}", f"customer:{second}", "Key account manager",
         "Early technical qualification; reference visits", "open"),
        ("ERP migration disrupts order entry in Q1", "operations", 0.15, "2500000", "company", "COO",
         "Parallel run in December; manual order desk for two weeks", "mitigating"),
        ("Service engineer capacity caps Services growth", "product", 0.35, "6%", "product:Services",
         "Head of Service", "Hire four engineers by March; certified partner network", "open"),
    ]
    out = pd.DataFrame(rows, columns=["title", "category", "likelihood", "impact", "driver", "owner",
                                      "mitigation", "status"])
    out.insert(0, "risk_id", [f"R-{i + 1:02d}" for i in range(len(out))])
    return out


# --------------------------------------------------------------------------- public API
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


def company_months(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Return the simulated company's monthly totals: its demand, what it was expected to sell, what it sold.

    Parameters
    ----------
    seed : int, default 20270101

    Returns
    -------
    pandas.DataFrame
        One row per month of the simulation (2022-01 .. 2027-12): ``month`` (first day), ``demand``
        (the regions' and products' demand), ``expected`` (``expected_sales`` summed: demand as the
        sales force of that month sells it) and ``actual`` (the deals drawn, credit notes included).
    """
    sim = _simulate(seed)
    expected = expected_sales(sim["customers"], sim["owner"], sim["factor"], sim["targets"]).sum(axis=(0, 1))
    deals = sim["deals"]
    actual = np.bincount(_month_index(pd.DatetimeIndex(deals["date"])), weights=deals["amount"].to_numpy(),
                         minlength=N_MONTHS)
    return pd.DataFrame({"month": pd.date_range(START, periods=N_MONTHS, freq="MS"),
                         "demand": sim["targets"].sum(axis=(0, 1))[:N_MONTHS], "expected": expected,
                         "actual": actual[:N_MONTHS]})


def generate(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Generate the sample company's input tables.

    Parameters
    ----------
    seed : int, default 20270101
        Seed of every random draw; the same seed gives the same tables.

    Returns
    -------
    dict of str to DataFrame
        ``sales`` (deal_id, date, amount, quantity, rep_id, customer_id, customer_name, product, region;
        2022-01-01 .. 2026-10-31), ``reps`` (rep_id, name, team, region, role, hire_date, exit_date, fte),
        ``market`` (region, product, year, market_size, market_growth), ``competitors`` (competitor,
        region, share, notes), ``pipeline`` (opportunity_id, rep_id, customer_id, product, stage,
        amount, expected_close, probability), ``kpis`` (rep_id, period, metric, value) and ``risks``
        (risk_id, title, category, likelihood, impact, driver, owner, mitigation, status).

    Examples
    --------
    >>> tables = generate()
    >>> sorted(tables)[:3]
    ['competitors', 'kpis', 'market']
    """
    sim = _simulate(seed)
    rng = sim["rng"]
    deals = sim["deals"]
    sales = deals[deals.date <= HISTORY_END].reset_index(drop=True)
    reps = sim["reps"]
    return {
        "sales": sales,
        "reps": reps,
        "market": _market(rng[6], sim["targets"]),
        "competitors": _competitors(rng[7]),
        "pipeline": _pipeline(rng[8], deals, sim["owner"], sim["customers"], reps),
        "kpis": _kpis(rng[9], reps, sim["skill"]),
        "risks": _risks(sales),
    }


def generate_actuals(start: str = "2027-01-01", end: str = "2027-03-31", seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate the deals after the history, as the same simulation continued (for quarterly reviews).

    Parameters
    ----------
    start, end : str, default "2027-01-01", "2027-03-31"
        First and last day (ISO dates, inclusive), within 2026-11-01 .. 2027-12-31.
    seed : int, default 20270101
        The seed of the sample company (the same as for ``generate``).

    Returns
    -------
    DataFrame
        The columns of sales.csv: deal_id, date, amount, quantity, rep_id, customer_id, customer_name,
        product, region; deal ids continue those of the history.

    Raises
    ------
    ConfigError
        If a date is not ISO, is outside 2026-11-01 .. 2027-12-31, or start is after end.
    """
    problems = []
    bounds = {}
    for key, value in (("start", start), ("end", end)):
        try:
            bounds[key] = pd.Timestamp(dt.date.fromisoformat(str(value)))
        except ValueError:
            problems.append((key, f"expected an ISO date such as 2027-03-31, found {value!r}"))
            continue
        if not HISTORY_END < bounds[key] <= SIM_END:
            problems.append((key, f"expected a date from 2026-11-01 to 2027-12-31 (the simulated future), "
                                  f"found {value!r}"))
    if not problems and bounds["start"] > bounds["end"]:
        problems.append(("start", f"start {start!r} is after end {end!r}"))
    if problems:
        raise ConfigError(problems, "sample actuals")
    deals = _simulate(seed)["deals"]
    inside = (deals.date >= bounds["start"]) & (deals.date <= bounds["end"])
    return deals[inside].reset_index(drop=True)


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    # Fixed float format, date format and line ending make the files byte-identical across runs.
    table.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.2f",
                 date_format="%Y-%m-%d")


def write_sample(folder: str | Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write the sample company's tables as UTF-8 CSV files into ``folder``.

    Parameters
    ----------
    folder : str or Path
        Created if missing; existing files of the same names are replaced.
    seed : int, default 20270101
        Seed of every random draw, passed to ``generate``.

    Returns
    -------
    list of Path
        The files written: sales.csv, reps.csv, market.csv, competitors.csv, pipeline.csv, kpis.csv, risks.csv.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in generate(seed).items():
        path = folder / f"{name}.csv"
        _write_csv(table, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m planlib.sample FOLDER`` or ``python -m planlib.sample --actuals END OUTFILE``."""
    parser = argparse.ArgumentParser(prog="python -m planlib.sample",
                                     description="Write the sample company's CSV files (deterministic).")
    parser.add_argument("path", help="folder for the sample tables; with --actuals, the CSV file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    parser.add_argument("--actuals", metavar="END", help="write deals from --start to END (ISO date) instead")
    parser.add_argument("--start", default="2027-01-01", help="first day of --actuals (default 2027-01-01)")
    args = parser.parse_args(argv)
    if args.actuals:
        out = Path(args.path)
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_csv(generate_actuals(args.start, args.actuals, seed=args.seed), out)
        print(f"wrote {out}")
    else:
        for path in write_sample(args.path, seed=args.seed):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
