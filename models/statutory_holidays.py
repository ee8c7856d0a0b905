"""China's public holidays by the law, for a year whose State Council arrangement is not known.

《全国年节及纪念日放假办法》 as amended in 2024 gives everyone: 元旦 1 day (1 January), 春节 4 days
(除夕 to 正月初三), 清明节 1 day (the solar-term day), 劳动节 2 days (1–2 May), 端午节 1 day
(五月初五), 中秋节 1 day (八月十五), 国庆节 3 days (1–3 October). A holiday that falls on a
Saturday or Sunday is made up (补假) on a working day; here, on the next Monday–Friday after it that
is not a holiday itself. The State Council's yearly arrangement adds 调休 (bridging days worked on
weekends), which no rule predicts: those days are left out, and the result is provisional.
"""
from __future__ import annotations

from datetime import date, timedelta

from lunar_python import Lunar, Solar

MAKE_UP_SUFFIX = "补假"

# chinese-calendar names its holidays in English; the calendar shows them in Chinese.
PACKAGE_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "中国人民抗日战争胜利70周年纪念日",
}


def _lunar_day(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def qingming(year: int) -> date:
    """The day of the solar term 清明 (4, 5 or 6 April)."""
    solar = Solar.fromYmd(year, 4, 1).getLunar().getJieQiTable()["清明"]
    found = date(solar.getYear(), solar.getMonth(), solar.getDay())
    if found.year != year:  # the table spans two solar years; never expected for April
        raise ValueError(f"清明 of {year} not found")
    return found


def festivals(year: int) -> list[tuple[str, list[date]]]:
    """Each festival of the year with its statutory days, in date order.

    春节 counts from 除夕, the day before 正月初一; a 除夕 falling in the previous solar year (never
    between 1900 and 2100) would leave that day out.
    """
    new_year = _lunar_day(year, 1, 1)
    spring = [new_year + timedelta(days=n) for n in range(-1, 3)]
    return [
        ("元旦", [date(year, 1, 1)]),
        ("春节", [d for d in spring if d.year == year]),
        ("清明节", [qingming(year)]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [_lunar_day(year, 5, 5)]),
        ("中秋节", [_lunar_day(year, 8, 15)]),
        ("国庆节", [date(year, 10, d) for d in (1, 2, 3)]),
    ]


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def statutory_holidays(year: int) -> dict[date, str]:
    """Every day off the law gives in ``year``: date → festival name (补假 days as "春节补假").

    A festival day that falls on a Saturday or Sunday, or on another festival's day (中秋 on
    1 October), is made up on the next weekday after it that is neither a statutory holiday nor
    already a 补假 day. Days made up in January of the next year are not part of ``year``.
    """
    days: dict[date, str] = {}
    lost: list[tuple[date, str]] = []
    for name, festival_days in festivals(year):
        for day in festival_days:
            if day in days:
                days[day] += "、" + name
                lost.append((day, name))
            else:
                days[day] = name
                if is_weekend(day):
                    lost.append((day, name))
    make_up: dict[date, str] = {}
    for day, name in sorted(lost):
        candidate = day + timedelta(days=1)
        while is_weekend(candidate) or candidate in days or candidate in make_up:
            candidate += timedelta(days=1)
        make_up[candidate] = name + MAKE_UP_SUFFIX
    days.update({d: n for d, n in make_up.items() if d.year == year})
    return dict(sorted(days.items()))
