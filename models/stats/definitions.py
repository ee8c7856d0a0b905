"""Every indicator once: its code, its Chinese name and definition (shown beside the figure on
every page, export and API answer), its English name and its unit.

Days and months are local (Asia/Shanghai) days; a count belongs to the day its event happened.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str  # Chinese, as the pages show it
    definition: str  # Chinese
    english: str
    unit: str  # count | ratio | stars | hours

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "definition": self.definition,
                "english": self.english, "unit": self.unit}


I = Indicator
INDICATORS: tuple[Indicator, ...] = (
    I("received", "受理量", "期间内上报（含台账导入）的事件数，按上报日计；含后来被合并或作废的。",
      "Received", "count"),
    I("dispatched", "派单量", "期间内派给部门或人员的次数（自动派单、指派、转办、上报到上级），"
      "计入接收方。", "Dispatched", "count"),
    I("accepted", "签收量", "期间内签收的次数，计入签收人。", "Accepted", "count"),
    I("accepted_in_time", "按时签收", "签收时间不晚于签收时限的签收次数。", "Accepted in time",
      "count"),
    I("response_rate", "响应率", "按时签收 ÷ 签收量。", "Response rate", "ratio"),
    I("closed", "办结量", "期间内审核通过（办结）的次数，计入办理人；重新打开后再次办结再计一次；"
      "从台账导入的已办结历史事件按台账上的办结日计入（有办理人的计入办理人）。",
      "Closed", "count"),
    I("closed_in_time", "按期办结", "提交办理结果时未超过办理时限的办结次数；台账导入的历史事件"
      "以其类别的办理时限从台账上的上报时间起算。", "Closed in time", "count"),
    I("on_time_rate", "按期办结率", "按期办结 ÷ 办结量。", "Closed-in-time rate", "ratio"),
    I("overdue_now", "当前超期", "此刻仍未办结且已过当前时限的事件数（统一超期定义：待受理看签收时限，"
      "办理中和待审核看办理时限，挂起不计），与所选期间无关。", "Overdue now", "count"),
    I("ever_overdue", "超期次数", "期间内系统判定超期（超期标记）的次数，按超期发生日计。",
      "Marked overdue", "count"),
    I("overdue_rate", "超期率", "超期办结（提交时已过办理时限）÷ 办结量。", "Overdue rate", "ratio"),
    I("rework", "审核退回", "期间内审核退回（返工）的次数，计入被退回的办理人。", "Rework", "count"),
    I("rework_rate", "返工率", "审核退回 ÷ 审核次数（审核通过 + 审核退回）。", "Rework rate", "ratio"),
    I("returned", "退回量", "期间内办理方以“非本单位职责”退回的次数，计入退回方。", "Returned",
      "count"),
    I("return_rate", "退回率", "退回量 ÷ 派单量。", "Return rate", "ratio"),
    I("reopened", "重新打开", "期间内办结后被重新打开的次数，计入原办理人。", "Reopened", "count"),
    I("rated", "评价数", "期间内的评价数：群众自评与回访评价之和，按评价日计。", "Rated", "count"),
    I("rated_by_reporter", "群众自评", "上报人通过查询码的评价数。", "Rated by the reporter", "count"),
    I("follow_ups", "回访评价", "工作人员电话回访并记录的评价数。", "Phone follow-ups", "count"),
    I("satisfaction_rate", "满意率", "评分 4 星及以上的评价 ÷ 评价数。", "Satisfaction rate", "ratio"),
    I("average_rating", "平均评分", "评价星级（1–5）的平均值。", "Average rating", "stars"),
    I("closed_rated", "已评价办结", "期间内的办结中，办结后（重新打开前）获得评价的次数，按办结日计。",
      "Closures rated", "count"),
    I("rating_coverage", "评价覆盖率", "期间内办结的事件中已获评价（群众自评或回访）的比例：已评价的办结"
      " ÷ 办结量。按办结日归入期间：月底办结、下月才评价的，算作办结那个月的已评价；"
      "重新打开后再次办结的，看再次办结之后有没有评价。", "Rating coverage", "ratio"),
    I("avg_hours", "平均处理时长（自然小时）", "办结事件从上报到办结、处于待受理/处理中/待审核的时间"
      "平均值；挂起期间和重新打开前的已办结期间不计。", "Average handling time (hours)", "hours"),
    I("median_hours", "处理时长中位数（自然小时）", "同上时长的中位数（精确到秒）。",
      "Median handling time (hours)", "hours"),
    I("avg_work_hours", "平均处理时长（工作小时）", "同上时长只计工作日的工作时段（按工作日历，"
      "含节假日与调休）。", "Average handling time (working hours)", "hours"),
    I("median_work_hours", "处理时长中位数（工作小时）", "工作小时处理时长的中位数（精确到秒）。",
      "Median handling time (working hours)", "hours"),
    I("escalated", "上报上级", "期间内事件被上报到上一级的次数（人工上报与超期自动上报），"
      "计入上报前的办理方。", "Escalations", "count"),
    I("merged", "合并重复", "期间内作为重复件合并的事件数。", "Merged duplicates", "count"),
    I("invalidated", "作废", "期间内作废的事件数。", "Marked invalid", "count"),
    I("patrol_found", "巡查发现", "网格员巡查中上报的事件数（来源为巡查），计入上报人。",
      "Found on patrol", "count"),
    I("co_handled", "协办件数", "期间内派给该部门的协办任务数（主办/协办中的协办方，按派出日计），"
      "与主办的派单量、办结量分开统计。", "Co-handling tasks", "count"),
    I("co_handled_done", "协办完成", "期间内协办部门提交协办结果的任务数（退回和被关闭的不计），"
      "按提交日计。", "Co-handling parts done", "count"),
    I("co_handled_in_time", "协办按期完成", "提交时未超过协办期限的协办任务数。",
      "Co-handling parts done in time", "count"),
    I("co_handled_on_time_rate", "协办按期完成率", "协办按期完成 ÷ 协办完成。",
      "Co-handling on-time rate", "ratio"),
    I("patrol_rounds", "巡查轮次", "期间内开始的巡查轮次数，按开始日计；按网格员分组时计入巡查人。",
      "Patrol rounds", "count"),
    I("patrol_coverage", "巡查覆盖率", "期间内至少巡查过一轮的网格 ÷ 范围内在用网格数（按网格员分组时："
      "其负责区域内的网格）；按部门、类别、月份分组或按类别筛选时不适用。", "Patrol coverage",
      "ratio"),
    I("patrol_day_coverage", "巡查日覆盖率", "负责的每个网格每天算一个“网格日”，当天开始过至少一轮巡查即为"
      "已巡查：已巡查的网格日 ÷（在用网格数 × 期间天数，本月只算到今天）。按网格员分组时只看本人在"
      "本人负责网格内的巡查；按区域看区域内所有网格，谁巡查都算。每天把负责的网格都走一遍为 100%。",
      "Patrol coverage by grid-day", "ratio"),
)
BY_CODE = {indicator.code: indicator for indicator in INDICATORS}


def definitions() -> list[dict]:
    return [indicator.as_dict() for indicator in INDICATORS]
