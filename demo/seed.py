"""The demo district: a fictional district of Hangzhou with its staff, rules and a year of tickets.

``seed_demo`` fills an empty, migrated database through the same domain functions the application
uses (``place_area``, ``set_boundary``, ``check_user_setup``, ``check_dispatch_rule``,
``open_ticket``, ``resolve_owner``, ``append_event``), so the demo shows what real data looks like:
grids that tile their community exactly, a responsibility matrix with overrides and gaps, and
tickets whose timelines replay to their state. Every choice is drawn from one seeded
``random.Random`` relative to now; the caller commits.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import accumulate

import sqlalchemy as sa
from shapely.geometry import Point, Polygon, mapping
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from models.areas.hierarchy import Area, place_area, set_boundary
from models.base import db, utcnow
from models.calendar import WorkCalendarDay, fill_calendar
from models.categories import Category, check_category
from models.clock import local_zone
from models.people.accounts import check_user_setup
from models.people.department import Department
from models.people.user import User
from models.tickets.deadlines import deadline_after
from models.tickets.dispatch import Owner, check_dispatch_rule, resolve_owner
from models.tickets.dispatch_rules import DispatchRule
from models.tickets.records import open_ticket
from models.tickets.tables import Ticket
from models.tickets.timeline import append_event
from models.vocabulary import (OPEN_STATUSES, ActorKind, AreaLevel, DeadlineUnit, DepartmentKind,
                               HandlingLevel, Priority, RatingSource, ResponsibleKind, Role, Source,
                               TicketStatus)

DEMO_PASSWORD = "demo12345"  # the README and run.py print it too
SEED = 20261123
MIN_TICKETS = 500
FLUSH_EVERY = 100

NH, WH, WD = DeadlineUnit.NATURAL_HOURS, DeadlineUnit.WORKING_HOURS, DeadlineUnit.WORKING_DAYS

# --------------------------------------------------------------------------------------------
# The map: 云栖区 (fictional, code 330199) west of Hangzhou's 西湖区, one jittered lattice of
# 8 × 4 cells. A community is a block of 4 × 2 cells (8 grids), a street two communities on top
# of each other, the district two streets side by side. Neighbouring cells share their corner
# points and edge mid-points exactly, so the grids tile every level without gaps or overlaps.
# --------------------------------------------------------------------------------------------
DISTRICT_CODE, DISTRICT_NAME = "330199", "云栖区"
LATTICE_ORIGIN = (120.10, 30.21)  # south-west corner, WGS-84
CELL_SIZE = (0.0125, 0.015)  # degrees: about 1.2 km × 1.7 km
COMMUNITY_COLS, COMMUNITY_ROWS = 4, 2
CORNER_JITTER = 0.2  # share of a cell side; below 0.25 keeps every quadrilateral convex
EDGE_BULGE = 0.08  # sideways offset of an edge's mid-point, share of the edge length

# street name, [(community name, short name, roads, residential estates)] north to south
STREETS = [
    ("之江街道", [
        ("文新社区", "文新", ["文新路", "文一西路", "丰潭路"], ["文新小区", "丰潭公寓", "文鼎苑", "金色家园"]),
        ("古荡社区", "古荡", ["古荡路", "天目山路", "古墩路"], ["古荡新村", "华星小区", "古荡湾", "嘉禾苑"]),
    ]),
    ("翠苑街道", [
        ("益乐社区", "益乐", ["益乐路", "文二西路", "教工路"], ["益乐新村", "益乐公寓", "翠苑四区", "政苑小区"]),
        ("嘉绿苑社区", "嘉绿", ["嘉绿路", "文三西路", "紫金港路"], ["嘉绿苑东区", "嘉绿苑西区", "嘉绿景苑", "绿园小区"]),
    ]),
]
CN_DIGITS = "一二三四五六七八九十"
# The grid with the chronic parking problem (the vegetable market at 益乐路): community 3, grid 3.
CHRONIC_PARKING = (2, 3)
CHRONIC_PARKING_SHARE = 0.4
CHRONIC_SPOT = "益乐路菜场门口"

# --------------------------------------------------------------------------------------------
# Departments. Functional departments sit at the district; abbreviations name their handlers.
# --------------------------------------------------------------------------------------------
FUNCTIONAL = [  # key, name, handlers
    ("cg", "云栖区城市管理局", 2),
    ("zf", "云栖区综合行政执法局", 2),
    ("zj", "云栖区住房和城乡建设局", 2),
    ("sj", "云栖区市场监督管理局", 1),
    ("hw", "云栖区环境卫生管理中心", 3),
    ("xf", "云栖区消防救援大队", 1),
]
# key, name, area (("street", s) or ("community", c)), handlers
PROPERTY = [
    ("wxwy", "杭州文新物业管理有限公司", ("community", 0), 1),
    ("cywy", "杭州翠苑物业服务有限公司", ("street", 1), 2),
    ("jlwy", "嘉绿苑物业服务中心", ("community", 3), 1),
]
OTHER = ("sw", "云栖水务有限公司", 1)

# --------------------------------------------------------------------------------------------
# Categories: (code, name, handling level, accept, handle, after photo, weight, where).
# ``weight`` is the share of tickets; ``where`` says whether the address is a road ("road") or
# a residential estate ("estate"). Parents carry the defaults of their class.
# --------------------------------------------------------------------------------------------
CATEGORY_TREE = [
    (("01", "街面环境卫生", HandlingLevel.DISTRICT, (2, WH), (1, WD)), [
        ("0101", "垃圾清运", HandlingLevel.DISTRICT, (2, NH), (24, NH), True, 20),
        ("0102", "道路保洁", HandlingLevel.DISTRICT, (2, WH), (1, WD), False, 6),
        ("0103", "乱堆乱放", HandlingLevel.DISTRICT, (4, WH), (3, WD), True, 7),
        ("0104", "垃圾分类不规范", HandlingLevel.COMMUNITY, (1, WD), (3, WD), False, 3),
    ]),
    (("02", "小区物业管理", HandlingLevel.COMMUNITY, (4, WH), (3, WD)), [
        ("0201", "乱停车", HandlingLevel.COMMUNITY, (2, WH), (1, WD), False, 6),
        ("0202", "下水道堵塞", HandlingLevel.COMMUNITY, (1, NH), (24, NH), True, 2),
        ("0203", "电梯故障", HandlingLevel.COMMUNITY, (1, NH), (24, NH), False, 3),
        ("0204", "楼道堆物", HandlingLevel.COMMUNITY, (4, WH), (3, WD), False, 4),
    ]),
    (("03", "居民矛盾纠纷", HandlingLevel.COMMUNITY, (1, WD), (5, WD)), [
        ("0301", "邻里纠纷", HandlingLevel.COMMUNITY, (1, WD), (5, WD), False, 4),
        ("0302", "噪音扰民", HandlingLevel.COMMUNITY, (2, WH), (2, WD), False, 5),
    ]),
    (("04", "房屋安全隐患", HandlingLevel.DISTRICT, (4, WH), (5, WD)), [
        ("0401", "墙体开裂", HandlingLevel.DISTRICT, (4, WH), (5, WD), True, 2),
        ("0402", "高空坠物隐患", HandlingLevel.DISTRICT, (1, NH), (24, NH), True, 2),
    ]),
    (("05", "市政设施", HandlingLevel.DISTRICT, (4, WH), (3, WD)), [
        ("0501", "路灯损坏", HandlingLevel.DISTRICT, (4, WH), (3, WD), True, 4),
        ("0502", "井盖缺失", HandlingLevel.DISTRICT, (1, NH), (12, NH), True, 2),
        ("0503", "道路破损", HandlingLevel.DISTRICT, (4, WH), (5, WD), True, 3),
        ("0504", "供水管网漏水", HandlingLevel.DISTRICT, (1, NH), (24, NH), False, 2),
    ]),
    (("06", "园林绿化", HandlingLevel.STREET, (1, WD), (5, WD)), [
        ("0601", "树木倒伏", HandlingLevel.STREET, (1, NH), (24, NH), True, 1),
        ("0602", "绿地毁损", HandlingLevel.STREET, (1, WD), (5, WD), False, 2),
    ]),
    (("07", "违法建设", HandlingLevel.DISTRICT, (1, WD), (15, WD)), [
        ("0701", "违章搭建", HandlingLevel.DISTRICT, (1, WD), (15, WD), True, 3),
        ("0702", "破墙开店", HandlingLevel.DISTRICT, (1, WD), (10, WD), True, 1),
    ]),
    (("08", "消防安全", HandlingLevel.DISTRICT, (2, WH), (2, WD)), [
        ("0801", "消防通道堵塞", HandlingLevel.DISTRICT, (1, NH), (24, NH), True, 3),
        ("0802", "电动车违规充电", HandlingLevel.COMMUNITY, (2, WH), (2, WD), False, 3),
    ]),
    (("09", "街面秩序", HandlingLevel.DISTRICT, (4, WH), (2, WD)), [
        ("0901", "占道经营", HandlingLevel.DISTRICT, (4, WH), (2, WD), False, 5),
        ("0902", "流动摊贩", HandlingLevel.DISTRICT, (4, WH), (1, WD), False, 3),
    ]),
    (("10", "其他事项", HandlingLevel.STREET, (1, WD), (5, WD)), [
        ("1001", "其他", HandlingLevel.STREET, (1, WD), (5, WD), False, 2),
    ]),
]

# Month factors on the base weight: the plum-rain season (梅雨, June–July) and summer storms
# block the drains, typhoons fell trees, cold snaps burst pipes.
SEASONALITY = {
    "0101": {1: 1.2, 2: 1.5, 7: 1.2, 8: 1.2},
    "0202": {5: 2.0, 6: 7.0, 7: 7.0, 8: 5.0, 9: 2.0},
    "0302": {6: 1.4, 7: 1.6, 8: 1.6},
    "0501": {11: 1.3, 12: 1.3, 1: 1.3},
    "0504": {12: 2.0, 1: 2.5, 2: 2.0},
    "0601": {7: 3.0, 8: 5.0, 9: 4.0},
    "0901": {5: 1.3, 6: 1.3, 7: 1.4, 8: 1.4, 9: 1.3},
    "0902": {5: 1.3, 6: 1.3, 7: 1.4, 8: 1.4, 9: 1.3},
}
URGENT_PRONE = {"0203", "0402", "0502", "0504", "0601", "0801"}
LESS_PATROL = {"0203", "0301", "0302", "0401", "0802"}  # residents call these in, patrols rarely see them

# Custom fields of 垃圾清运, answered through the API and Open311 (optional, so staff entry and
# the walkthrough need none).
GARBAGE_FIELDS = [
    {"code": "bins", "label": "满溢桶数", "type": "number", "hint": "整数，如 3"},
    {"code": "kind", "label": "垃圾类型", "type": "singlevaluelist",
     "values": [{"key": "household", "name": "生活垃圾"}, {"key": "construction", "name": "建筑垃圾"},
                {"key": "bulky", "name": "大件垃圾"}]},
]

# Responsibility matrix: (category code, area, kind, department key, handle override, note).
# Area: "district", ("street", index) or ("community", index). 园林绿化 and 其他事项 have no rule
# on purpose: they fall to the street command centre, which assigns them by hand.
RULES = [
    ("01", "district", ResponsibleKind.DEPARTMENT, "hw", None, "街面环境卫生由区环卫中心负责"),
    ("0101", "district", ResponsibleKind.DEPARTMENT, "hw", None, "垃圾清运24小时内完成"),
    ("0103", "district", ResponsibleKind.DEPARTMENT, "cg", None, "乱堆乱放由城管处置"),
    ("0104", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, "垃圾分类由社区督导"),
    ("02", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, "小区事务先由社区协调物业"),
    ("0201", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, None),
    ("0202", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, None),
    ("0202", ("street", 1), ResponsibleKind.DEPARTMENT, "cywy", (12, NH),
     "翠苑街道老旧小区由托管物业负责疏通，合同约定12小时"),
    ("0201", ("community", 3), ResponsibleKind.DEPARTMENT, "jlwy", None, "嘉绿苑小区内停车由物业管理"),
    ("0203", "district", ResponsibleKind.DEPARTMENT, "sj", None, "电梯属特种设备，由市场监管局督办"),
    ("0203", ("community", 0), ResponsibleKind.DEPARTMENT, "wxwy", (8, NH), "文新社区电梯由物业联系维保单位"),
    ("03", "district", ResponsibleKind.GRID_WORKER, None, None, "矛盾纠纷由网格员先行调解"),
    ("04", "district", ResponsibleKind.DEPARTMENT, "zj", None, None),
    ("05", "district", ResponsibleKind.DEPARTMENT, "cg", None, None),
    ("0504", "district", ResponsibleKind.DEPARTMENT, "sw", None, "供水管网由水务公司抢修"),
    ("07", "district", ResponsibleKind.DEPARTMENT, "zf", None, None),
    ("08", "district", ResponsibleKind.DEPARTMENT, "xf", None, None),
    ("0802", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, "电动车充电由社区上门劝导"),
    ("09", "district", ResponsibleKind.DEPARTMENT, "zf", None, None),
]
GAP_TARGET = {"06": "cg", "10": "community"}  # who the command centre hands a gap ticket to

# --------------------------------------------------------------------------------------------
# Words.
# --------------------------------------------------------------------------------------------
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方邹孟熊秦邱江尹薛段雷侯史陶黎贺顾毛邵钱严戴")
GIVEN_CHARS = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华建国文斌辉鹏飞晓红燕玲婷雪琳宇浩凯俊峰亮波"
               "宁欣怡涵萱鸣志远海春梅雅琴佳慧颖晨阳丹琪睿轩诚立新卫东建忠德福荣兰凤")
PLACES = ["公交站旁", "菜场门口", "小学门口", "公园入口", "地铁站出口", "十字路口", "农贸市场旁", "幼儿园门口"]
GATES = ["东门", "南门", "西门", "北门", "主入口"]
SHOPS = ["水果店", "拉面馆", "便利店", "五金店", "早餐店", "烧烤店", "理发店", "小吃店"]

TEXTS: dict[str, dict[str, list[str]]] = {
    "0101": {
        "titles": ["{road}{no}号门口垃圾桶满溢", "{estate}{bldg}幢旁垃圾房垃圾未清运",
                   "{road}{place}垃圾堆积未及时清运", "{estate}{gate}垃圾中转点异味严重"],
        "texts": ["{road}{no}号门口的垃圾桶已经满溢，垃圾散落在人行道上，气味很大，已经两天没人来清运了。",
                  "{estate}{bldg}幢旁边的垃圾房垃圾堆得很高，苍蝇很多，天热味道特别重。",
                  "{road}{place}有一堆生活垃圾无人清运，影响行人通行和市容。"],
        "results": ["已安排清运车辆将垃圾全部清运，并对垃圾桶周边进行冲洗消杀。",
                    "垃圾已清运完毕，已要求保洁公司将该点位清运频次加密至每日两次。"],
    },
    "0102": {
        "titles": ["{road}人行道落叶垃圾较多无人清扫", "{road}{no}号附近路面油污严重", "{road}{place}路面大量泥浆"],
        "texts": ["{road}人行道上落叶和纸屑很多，好几天没见保洁员清扫了。",
                  "{road}{no}号附近路面有一大片油污，下雨天很滑，电动车容易摔倒。",
                  "附近工地渣土车经过后在{road}{place}留下大量泥浆，晴天尘土飞扬。"],
        "results": ["已安排保洁人员对该路段清扫冲洗，路面已恢复整洁。",
                    "已用清洗车对油污路面高压冲洗并撒布吸油材料，路面已清理干净。"],
    },
    "0103": {
        "titles": ["{road}{no}号门前堆放建筑垃圾", "{estate}{bldg}幢楼下堆放废旧家具", "{road}{place}商户占道堆放杂物"],
        "texts": ["{road}{no}号门前有人装修后把建筑垃圾堆在路边，已经堆了一个星期。",
                  "{estate}{bldg}幢楼下堆了旧沙发、床垫等废旧家具，占用通道。",
                  "{road}{place}几家商户把纸箱、货架堆在人行道上，行人只能走机动车道。"],
        "results": ["已督促当事人自行清理，现场已清理完毕。",
                    "已联系清运车辆将杂物清运，并对当事人进行教育告知。"],
    },
    "0104": {
        "titles": ["{estate}垃圾分类投放点混投严重", "{estate}{bldg}幢旁分类垃圾桶无人督导"],
        "texts": ["{estate}的垃圾分类投放点其他垃圾和厨余垃圾混在一起，分类桶形同虚设。",
                  "{estate}{bldg}幢旁的分类桶经常满溢，投放时段也没有督导员值守。"],
        "results": ["已安排垃圾分类督导员定时值守，并在小区内开展分类宣传。",
                    "已对投放点进行整改，增设分类指引牌，混投情况明显好转。"],
    },
    "0201": {
        "titles": ["{estate}{gate}机动车乱停堵塞通道", "{road}{no}号门口车辆乱停占用人行道",
                   "{estate}{bldg}幢楼下车辆乱停影响出行", "{road}{place}非机动车乱停乱放"],
        "texts": ["{estate}{gate}每天晚上都有车辆乱停，把进出通道堵得只剩一条缝。",
                  "{road}{no}号门口的人行道上停满了汽车，推婴儿车的居民只能走到马路上。",
                  "{estate}{bldg}幢楼下车辆乱停，早上出门车子都开不出去。",
                  "{road}{place}共享单车和电动车乱停乱放，占满了盲道。"],
        "results": ["已联系车主将车辆挪走，并在该处张贴文明停车提示。",
                    "已会同物业对乱停车辆进行劝离，并加装隔离桩。"],
    },
    "0202": {
        "titles": ["{estate}{bldg}幢下水道堵塞污水外溢", "{road}{no}号门口窨井堵塞雨水排不出",
                   "{estate}{bldg}幢{unit}单元一楼污水倒灌"],
        "texts": ["{estate}{bldg}幢楼下的下水道堵了，污水从窨井里漫出来，味道很臭。",
                  "连续下雨，{road}{no}号门口窨井排水不畅，路面积水没过脚踝。",
                  "{estate}{bldg}幢{unit}单元一楼卫生间污水倒灌，住户无法正常使用。"],
        "results": ["已安排疏通车辆对下水管道进行疏通，污水外溢问题已解决。",
                    "已清掏窨井内淤泥杂物，排水恢复正常。"],
    },
    "0203": {
        "titles": ["{estate}{bldg}幢{unit}单元电梯停运", "{estate}{bldg}幢电梯运行时异响", "{estate}{bldg}幢电梯困人"],
        "texts": ["{estate}{bldg}幢{unit}单元电梯从昨天开始停运，楼上有老人行动不便，上下楼很困难。",
                  "{estate}{bldg}幢电梯运行时有很大的异响，还会突然抖动，居民担心安全。",
                  "{estate}{bldg}幢电梯有人被困，按了警铃维保人员迟迟未到。"],
        "results": ["已通知电梯维保单位到场检修，更换故障部件后电梯恢复运行。",
                    "维保单位已完成检修并经检测合格，电梯恢复正常使用。"],
    },
    "0204": {
        "titles": ["{estate}{bldg}幢{unit}单元楼道堆放杂物", "{estate}{bldg}幢楼道堆放纸板等易燃物"],
        "texts": ["{estate}{bldg}幢{unit}单元楼道里堆了很多旧家具和纸箱，影响通行，也有火灾隐患。",
                  "{estate}{bldg}幢有住户在楼道里堆放大量废纸板，多次劝说无效。"],
        "results": ["已上门劝导住户清理楼道堆物，楼道已恢复畅通。",
                    "已联合物业对楼道杂物进行集中清理。"],
    },
    "0301": {
        "titles": ["{estate}{bldg}幢楼上漏水引发邻里纠纷", "{estate}{bldg}幢邻居占用公共区域引发矛盾",
                   "{estate}{bldg}幢饲养宠物扰邻纠纷"],
        "texts": ["{estate}{bldg}幢{unit}单元楼上卫生间漏水，天花板霉变，和楼上协商多次没有结果。",
                  "{estate}{bldg}幢邻居在公共过道放鞋柜和杂物，双方为此发生争吵。",
                  "{estate}{bldg}幢有住户养了几条狗，整天叫，还在楼道里大小便，邻居之间矛盾很大。"],
        "results": ["经社区调解，双方达成一致意见并签订调解协议。",
                    "已组织双方当面沟通，楼上住户同意承担维修费用，矛盾已化解。"],
    },
    "0302": {
        "titles": ["{road}{no}号商铺夜间音响声音过大", "{estate}{bldg}幢楼上装修噪音扰民",
                   "{estate}广场舞音响噪音过大", "{road}{place}夜宵摊深夜喧哗"],
        "texts": ["{road}{no}号的{shop}每天晚上放音乐招揽顾客，声音很大，一直到十一点多。",
                  "{estate}{bldg}幢楼上装修，中午和周末也在电钻，严重影响休息。",
                  "{estate}中心广场跳广场舞的音响开得很响，晚上九点以后还在放。",
                  "{road}{place}的夜宵摊每天凌晨还有人喝酒划拳，吵得睡不着。"],
        "results": ["已上门劝导，商户已调低音量并承诺晚上十点后停止播放。",
                    "已与相关人员沟通，调整了活动时间并控制音量，居民表示认可。"],
    },
    "0401": {
        "titles": ["{estate}{bldg}幢外墙出现裂缝", "{estate}{bldg}幢{unit}单元楼梯间墙体开裂"],
        "texts": ["{estate}{bldg}幢外墙出现多条裂缝，最宽的地方能塞进硬币，居民很担心。",
                  "{estate}{bldg}幢{unit}单元楼梯间墙体开裂，裂缝越来越长。"],
        "results": ["经房屋安全鉴定机构现场查勘，裂缝为非结构性裂缝，已安排修补。",
                    "已委托鉴定机构出具鉴定意见，并督促产权单位完成加固修缮。"],
    },
    "0402": {
        "titles": ["{estate}{bldg}幢外墙瓷砖有脱落风险", "{road}{no}号楼顶广告牌松动",
                   "{estate}{bldg}幢阳台外侧花盆有坠落风险"],
        "texts": ["{estate}{bldg}幢外墙瓷砖已经有几块掉下来，下面就是进出通道，很危险。",
                  "{road}{no}号楼顶广告牌被风吹得摇晃，螺丝松动，随时可能掉下来。",
                  "{estate}{bldg}幢高层住户把花盆摆在阳台护栏外侧，有坠落伤人风险。"],
        "results": ["已设置警戒区域并安排施工人员清除松动瓷砖，隐患已消除。",
                    "已督促产权人对广告牌进行加固，隐患已消除。"],
    },
    "0501": {
        "titles": ["{road}{no}号附近路灯不亮", "{estate}内多盏路灯不亮", "{road}{place}路灯灯杆倾斜"],
        "texts": ["{road}{no}号附近的路灯已经不亮一个多星期了，晚上走路很黑。",
                  "{estate}内有好几盏路灯不亮，老人晚上出门不安全。",
                  "{road}{place}有一根路灯杆被车撞歪了，倾斜得很厉害。"],
        "results": ["已安排路灯养护单位更换灯具，路灯恢复正常照明。",
                    "经查为线路老化，已更换电缆，路灯恢复亮灯。"],
    },
    "0502": {
        "titles": ["{road}{no}号门口井盖缺失", "{road}{place}井盖破损下陷", "{estate}{bldg}幢旁雨水井盖缺失"],
        "texts": ["{road}{no}号门口的井盖不见了，只剩一个洞，晚上很容易掉下去。",
                  "{road}{place}的井盖破裂下陷，车辆经过时哐哐响。",
                  "{estate}{bldg}幢旁的雨水井盖缺失，旁边就是小孩玩耍的地方。"],
        "results": ["已设置临时围挡并更换新井盖，隐患已消除。",
                    "已更换防坠落井盖并加装防坠网。"],
    },
    "0503": {
        "titles": ["{road}{no}号附近路面坑洼", "{road}{place}人行道地砖松动破损"],
        "texts": ["{road}{no}号附近的路面有好几个大坑，下雨积水，电动车经过很危险。",
                  "{road}{place}的人行道地砖松动，一踩就溅水，已经有老人绊倒。"],
        "results": ["已安排道路养护单位对坑洼路面进行沥青修补。",
                    "已更换破损地砖，人行道恢复平整。"],
    },
    "0504": {
        "titles": ["{road}{no}号附近自来水管爆裂", "{estate}{bldg}幢旁地面持续冒水"],
        "texts": ["{road}{no}号附近的自来水管爆了，水一直往外冒，路面全是水。",
                  "{estate}{bldg}幢旁边的地面一直在冒水，好几天了，怀疑地下水管漏水。"],
        "results": ["水务抢修人员已到场关阀抢修，更换破损管段后恢复供水。",
                    "已查明为供水支管渗漏，已完成修复。"],
    },
    "0601": {
        "titles": ["{road}{no}号附近行道树倒伏", "{road}{place}大树树枝断裂悬挂"],
        "texts": ["昨晚风雨很大，{road}{no}号附近一棵行道树倒在人行道上，挡住了通行。",
                  "{road}{place}有一根粗树枝断了挂在半空，下面人来人往，很危险。"],
        "results": ["已安排园林养护单位清理倒伏树木，并对周边树木进行修剪加固。",
                    "已锯除断裂树枝，清理现场，通行已恢复。"],
    },
    "0602": {
        "titles": ["{estate}绿化带被毁种菜", "{road}{place}绿地被车辆碾压"],
        "texts": ["{estate}有居民把公共绿化带翻了种菜，还浇粪水，味道很大。",
                  "{road}{place}的绿地被车辆碾压得光秃秃的，一下雨全是泥。"],
        "results": ["已对毁绿种菜行为进行劝导，并恢复绿化。",
                    "已补植草皮并设置护栏。"],
    },
    "0701": {
        "titles": ["{estate}{bldg}幢顶楼违章搭建阳光房", "{estate}{bldg}幢一楼住户违建扩建院子"],
        "texts": ["{estate}{bldg}幢顶楼住户正在屋顶搭建阳光房，工人已经在焊钢架。",
                  "{estate}{bldg}幢一楼住户把院子往外扩建，占用了公共绿地。"],
        "results": ["已下达限期拆除通知书，当事人已自行拆除违建部分。",
                    "已依法对违法建筑实施拆除，现场已恢复。"],
    },
    "0702": {
        "titles": ["{road}{no}号住宅一楼破墙开店"],
        "texts": ["{road}{no}号住宅一楼住户把外墙打通改成店面，准备开{shop}，影响楼房安全。"],
        "results": ["已责令当事人停止施工并恢复原状。"],
    },
    "0801": {
        "titles": ["{estate}消防通道被车辆堵塞", "{estate}{bldg}幢消防通道堆放杂物"],
        "texts": ["{estate}的消防通道上每天晚上停满了车，真有火情消防车根本进不来。",
                  "{estate}{bldg}幢旁的消防通道被堆满了杂物，消防栓也被挡住了。"],
        "results": ["已督促清理消防通道，并施划消防通道禁停标线。",
                    "已清理通道杂物，并对相关住户进行消防安全教育。"],
    },
    "0802": {
        "titles": ["{estate}{bldg}幢楼道内电动车充电", "{estate}{bldg}幢居民飞线充电"],
        "texts": ["{estate}{bldg}幢{unit}单元有住户把电动车推进楼道充电，晚上一直充着。",
                  "{estate}{bldg}幢有住户从三楼窗户拉电线下来给电动车充电。"],
        "results": ["已上门劝导，拆除飞线，引导居民到集中充电点充电。",
                    "已督促住户将电动车移出楼道，并在楼道张贴安全提示。"],
    },
    "0901": {
        "titles": ["{road}{no}号{shop}占道经营", "{road}{place}商户占道摆摊"],
        "texts": ["{road}{no}号的{shop}把桌椅摆到了人行道上，行人只能绕行。",
                  "{road}{place}几家商户在门口摆摊，把整个人行道都占了。"],
        "results": ["已责令商户将经营物品收回店内，并进行教育。",
                    "已对占道经营商户进行劝导并登记，后续加强巡查。"],
    },
    "0902": {
        "titles": ["{road}{place}流动摊贩聚集", "{road}{place}夜间流动摊贩"],
        "texts": ["{road}{place}每天傍晚有十几个流动摊贩聚集，油烟大，垃圾也多。",
                  "{road}{place}晚上有流动摊贩卖烧烤，占道还乱扔垃圾。"],
        "results": ["已劝离流动摊贩，并引导其到规范经营点经营。",
                    "已对现场进行清理，安排执法队员定时巡查。"],
    },
    "1001": {
        "titles": ["{road}{place}共享单车大量堆积", "{road}{no}号附近流浪狗聚集", "{estate}{bldg}幢楼顶太阳能热水器漏水"],
        "texts": ["{road}{place}的共享单车堆积成山，把人行道全堵了。",
                  "{road}{no}号附近有好几条流浪狗，晚上追着人叫，小孩很害怕。",
                  "{estate}{bldg}幢楼顶的太阳能热水器一直漏水，顺着外墙往下流。"],
        "results": ["已联系共享单车企业进行清运调度。", "已协调相关单位处理，问题已解决。"],
    },
}
CHRONIC_TEXTS = {
    "titles": [CHRONIC_SPOT + "又有车辆乱停", CHRONIC_SPOT + "人行道停满汽车",
               CHRONIC_SPOT + "早高峰车辆乱停堵路"],
    "texts": [CHRONIC_SPOT + "早上又是一排车停在人行道上，老人拉着买菜车都过不去，已经反映过很多次了。",
              "买菜的车辆把" + CHRONIC_SPOT + "的路口堵死了，公交车都开不过去，希望彻底解决。",
              CHRONIC_SPOT + "乱停车问题一直没有根治，每天早上七点到九点最严重。"],
}
PROGRESS = {
    "01": ["已通知片区保洁班组前往现场处理。", "已安排清运车辆，预计两小时内到达。"],
    "02": ["已派人到现场查看情况。", "已联系维修人员，正在处理。"],
    "03": ["已与双方当事人电话沟通，约定时间调解。", "已上门走访，了解纠纷经过。"],
    "04": ["已设置警示标志并拉设警戒线。", "已联系房屋安全鉴定机构现场查看。"],
    "05": ["已派养护单位现场查看，正在准备材料。", "已设置临时围挡，安排维修。"],
    "06": ["已通知园林养护单位到场。", "已现场查看，安排修剪和补植。"],
    "07": ["已现场勘查取证，下达责令限期整改通知书。", "已约谈当事人，告知相关法律规定。"],
    "08": ["已现场督促整改。", "已联系物业共同排查隐患。"],
    "09": ["已安排执法队员前往现场。", "已对商户进行劝导，持续跟踪。"],
    "10": ["已协调相关单位处理。", "已现场查看情况。"],
}
SUSPEND_REASONS = {
    "02": ["需业委会表决动用维修资金，暂时挂起。", "等待电梯维保单位配件到货，暂时挂起。"],
    "03": ["一方当事人已向法院起诉，等待法院判决。"],
    "04": ["需专业机构出具房屋安全鉴定报告，暂时挂起。"],
    "05": ["涉及燃气管线迁改，需多部门协调，暂时挂起。"],
    "07": ["当事人申请行政复议，暂缓执行。"],
}
DEFAULT_SUSPEND = ["需协调多部门联合处置，暂时挂起。", "反映人外出，待其返回后上门核实。"]
INVALID_REASONS = ["经现场核实，未发现所反映问题。", "非本辖区事项，已告知反映人向相关辖区反映。",
                   "反映内容不属于网格事件受理范围，已做好解释。", "信息不完整，多次联系反映人未果。"]
APPROVE_NOTES = ["现场核查，处置到位，同意办结。", "经回访核实，问题已解决，同意办结。", "处置结果符合要求，予以办结。"]
REJECT_NOTES = ["处置后照片不清晰，请补充现场照片。", "经回访，问题仍未彻底解决，请重新处置。",
                "处置说明过于简单，请补充处理过程。"]
RATING_COMMENTS = {
    5: ["处理很及时，非常满意！", "工作人员态度很好，点赞。", "当天就处理好了，谢谢！", "效率很高，满意。"],
    4: ["处理得不错，就是稍微慢了点。", "问题解决了，希望以后多巡查。", "总体满意。"],
    3: ["基本解决了，但还有点小问题。", "处理一般，时间有点长。"],
    2: ["处理太慢了。", "问题没有彻底解决。"],
    1: ["根本没解决，敷衍了事。", "反映了好几次才处理，很不满意。"],
}
REVISIT_COMMENTS = ["社区电话回访周边居民，对处置结果表示满意。", "回访商户和居民，反映现场已恢复正常。"]
SOURCE_PREFIX = {
    Source.PATROL: ["网格员日常巡查发现：", "巡查发现："],
    Source.PHONE: ["市民来电反映：", "市民拨打12345热线反映："],
    Source.WECHAT: ["居民通过“云栖网格”微信小程序反映："],
    Source.WEB: ["市民通过网上平台反映："],
    Source.WALK_IN: ["居民到社区服务站来访反映："],
    Source.API: ["12345政务服务热线转办："],
}
ASKS = ["请尽快处理。", "希望有关部门尽快处理。", "请相关部门核实处理。", ""]
SOURCE_WEIGHTS = [(Source.PATROL, 36), (Source.PHONE, 24), (Source.WECHAT, 18), (Source.WEB, 8),
                  (Source.WALK_IN, 8), (Source.API, 6)]

# Final status by age of the ticket (days): older tickets are mostly closed, recent ones open.
STATUS_BY_AGE = [
    (1, {TicketStatus.PENDING: 55, TicketStatus.IN_PROGRESS: 30, TicketStatus.PENDING_REVIEW: 6,
         TicketStatus.CLOSED: 6, TicketStatus.INVALID: 3}),
    (7, {TicketStatus.PENDING: 20, TicketStatus.IN_PROGRESS: 35, TicketStatus.PENDING_REVIEW: 15,
         TicketStatus.CLOSED: 22, TicketStatus.SUSPENDED: 3, TicketStatus.INVALID: 5}),
    (30, {TicketStatus.PENDING: 4, TicketStatus.IN_PROGRESS: 14, TicketStatus.PENDING_REVIEW: 8,
          TicketStatus.CLOSED: 63, TicketStatus.SUSPENDED: 5, TicketStatus.INVALID: 6}),
    (90, {TicketStatus.IN_PROGRESS: 5, TicketStatus.PENDING_REVIEW: 2, TicketStatus.CLOSED: 82,
          TicketStatus.SUSPENDED: 4, TicketStatus.INVALID: 7}),
    (10**6, {TicketStatus.IN_PROGRESS: 1.5, TicketStatus.CLOSED: 88, TicketStatus.SUSPENDED: 2.5,
             TicketStatus.INVALID: 8}),
]


# --------------------------------------------------------------------------------------------
# Seeding.
# --------------------------------------------------------------------------------------------
@dataclass
class _Grid:
    area: Area
    polygon: Polygon
    community: Area
    street: Area
    community_index: int
    number: int
    road: str
    estate: str
    roads: list[str]
    estates: list[str]


@dataclass
class _Plan:
    created: datetime
    category: Category
    grid: _Grid
    source: Source
    status: TicketStatus
    priority: Priority = Priority.NORMAL
    chronic: bool = False
    merge_of: int | None = None  # index of an earlier plan this one duplicates
    text: tuple[str, str, str] | None = None  # title, what was seen, address (set when created)


@dataclass
class _Demo:
    rng: random.Random
    now: datetime
    district: Area | None = None
    streets: list[Area] = field(default_factory=list)
    communities: list[Area] = field(default_factory=list)
    grids: list[_Grid] = field(default_factory=list)
    departments: dict[str, Department] = field(default_factory=dict)
    centre_of: dict[int, Department] = field(default_factory=dict)  # 0 district, 1… streets
    office_of: dict[int, Department] = field(default_factory=dict)  # community index → office
    users: list[User] = field(default_factory=list)
    district_staff: list[User] = field(default_factory=list)
    street_staff: dict[int, list[User]] = field(default_factory=dict)
    community_staff: dict[int, list[User]] = field(default_factory=dict)
    grid_worker: dict[int, User] = field(default_factory=dict)
    handlers: dict[int, list[User]] = field(default_factory=dict)  # department id → handlers
    categories: dict[str, Category] = field(default_factory=dict)
    rules: list[DispatchRule] = field(default_factory=list)
    names_used: set[str] = field(default_factory=set)
    shared_hash: str | None = None
    owners: dict[tuple[int, int], Owner] = field(default_factory=dict)


def seed_demo(ticket_count: int = 600) -> dict[str, int]:
    """Create the demo district, its staff, rules and about a year of tickets; the caller commits."""
    if ticket_count < MIN_TICKETS:
        raise ValueError(f"the demo needs at least {MIN_TICKETS} tickets")
    if db.session.execute(sa.select(Area.id).where(Area.code == DISTRICT_CODE)).first():
        raise ValueError(f"the demo district {DISTRICT_CODE} {DISTRICT_NAME} already exists")
    demo = _Demo(rng=random.Random(SEED), now=utcnow())
    _seed_areas(demo)
    _seed_departments(demo)
    _seed_users(demo)
    _seed_categories(demo)
    _seed_rules(demo)
    fill_calendar()
    db.session.flush()
    tickets, events = _seed_tickets(demo, ticket_count)
    db.session.flush()
    calendar_days = db.session.execute(
        sa.select(sa.func.count()).select_from(WorkCalendarDay)).scalar_one()
    return {
        "areas": 1 + len(demo.streets) + len(demo.communities) + len(demo.grids),
        "departments": len(demo.departments),
        "users": len(demo.users),
        "categories": len(demo.categories),
        "dispatch_rules": len(demo.rules),
        "calendar_days": calendar_days,
        "tickets": len(tickets),
        "open_tickets": sum(1 for ticket in tickets if ticket.status in OPEN_STATUSES),
        "events": events,
    }


# ---- areas ---------------------------------------------------------------------------------
def _lattice(rng: random.Random, cols: int, rows: int):
    """Jittered lattice points, and one sideways-offset mid-point per lattice edge, shared."""
    (lon0, lat0), (dx, dy) = LATTICE_ORIGIN, CELL_SIZE
    points = {}
    for i in range(cols + 1):
        for j in range(rows + 1):
            points[i, j] = (round(lon0 + (i + rng.uniform(-CORNER_JITTER, CORNER_JITTER)) * dx, 6),
                            round(lat0 + (j + rng.uniform(-CORNER_JITTER, CORNER_JITTER)) * dy, 6))
    mids = {}

    def mid(a, b):
        key = (min(a, b), max(a, b))
        if key not in mids:
            (x1, y1), (x2, y2) = points[key[0]], points[key[1]]
            bulge = rng.uniform(-EDGE_BULGE, EDGE_BULGE)
            mids[key] = (round((x1 + x2) / 2 - (y2 - y1) * bulge, 6),
                         round((y1 + y2) / 2 + (x2 - x1) * bulge, 6))
        return mids[key]

    def cell(i: int, j: int) -> Polygon:
        a, b, c, d = (i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)  # counter-clockwise
        ring = [points[a], mid(a, b), points[b], mid(b, c), points[c], mid(c, d), points[d], mid(d, a)]
        polygon = Polygon(ring)
        if not polygon.is_valid:
            raise RuntimeError(f"demo lattice cell {i},{j} is not a valid polygon")
        return polygon

    return cell


def _union(polygons: list[Polygon]) -> Polygon:
    merged = unary_union(polygons)
    if merged.geom_type != "Polygon" or len(merged.interiors):
        raise RuntimeError("demo areas do not join into one polygon")
    return orient(merged, 1.0)


def _new_area(code: str, name: str, level: AreaLevel, parent: Area | None, polygon: Polygon) -> Area:
    area = Area(code=code, name=name, level=level)
    set_boundary(area, mapping(orient(polygon, 1.0)))
    place_area(area, parent)
    return area


def _seed_areas(demo: _Demo) -> None:
    street_cols = COMMUNITY_COLS
    communities_per_street = max(len(c) for _, c in STREETS)
    cols, rows = street_cols * len(STREETS), COMMUNITY_ROWS * communities_per_street
    cell = _lattice(demo.rng, cols, rows)
    cells = {(i, j): cell(i, j) for i in range(cols) for j in range(rows)}

    def community_cells(s: int, k: int) -> list[tuple[int, int]]:
        """Grid order inside a community: rows north to south, columns west to east."""
        top = rows - 1 - k * COMMUNITY_ROWS
        return [(s * street_cols + c, top - r) for r in range(COMMUNITY_ROWS) for c in range(street_cols)]

    demo.district = _new_area(DISTRICT_CODE, DISTRICT_NAME, AreaLevel.DISTRICT, None,
                              _union(list(cells.values())))
    community_index = 0
    for s, (street_name, communities) in enumerate(STREETS):
        street_cells = [cells[key] for k in range(len(communities)) for key in community_cells(s, k)]
        street = _new_area(f"{DISTRICT_CODE}{s + 1:03d}", street_name, AreaLevel.STREET,
                           demo.district, _union(street_cells))
        demo.streets.append(street)
        for k, (name, short, roads, estates) in enumerate(communities):
            keys = community_cells(s, k)
            community = _new_area(f"{street.code}{k + 1:03d}", name, AreaLevel.COMMUNITY, street,
                                  _union([cells[key] for key in keys]))
            demo.communities.append(community)
            for n, key in enumerate(keys, start=1):
                grid = _new_area(f"{community.code}{n:03d}", f"{short}第{CN_DIGITS[n - 1]}网格",
                                 AreaLevel.GRID, community, cells[key])
                demo.grids.append(_Grid(
                    area=grid, polygon=cells[key], community=community, street=street,
                    community_index=community_index, number=n, road=roads[(n - 1) % len(roads)],
                    estate=estates[(n - 1) % len(estates)], roads=roads, estates=estates))
            community_index += 1


# ---- departments and users -----------------------------------------------------------------
def _phone(rng: random.Random) -> str:
    # 13x and 18x only: every such number is an assigned mobile range (154, 174, 179 are not).
    return "1" + rng.choice("3838") + "".join(rng.choice("0123456789") for _ in range(9))


def _office_phone(rng: random.Random) -> str:
    return "0571-8" + "".join(rng.choice("0123456789") for _ in range(7))


def _person(demo: _Demo) -> str:
    """A staff member's name, unique in the demo."""
    while True:
        name = _person_name(demo.rng)
        if name not in demo.names_used:
            demo.names_used.add(name)
            return name


def _department(demo: _Demo, key: str, name: str, kind: DepartmentKind, area: Area) -> Department:
    department = Department(name=name, kind=kind, area=area, phone=_office_phone(demo.rng))
    db.session.add(department)
    demo.departments[key] = department
    return department


def _seed_departments(demo: _Demo) -> None:
    district = demo.district
    demo.centre_of[0] = _department(demo, "centre", f"{district.name}网格化服务管理指挥中心",
                                    DepartmentKind.COMMAND_CENTRE, district)
    for s, street in enumerate(demo.streets):
        demo.centre_of[s + 1] = _department(demo, f"centre{s + 1}", f"{street.name}网格化服务管理指挥中心",
                                            DepartmentKind.COMMAND_CENTRE, street)
    for c, community in enumerate(demo.communities):
        demo.office_of[c] = _department(demo, f"office{c}", f"{community.name}居民委员会",
                                        DepartmentKind.COMMUNITY_OFFICE, community)
    for key, name, _count in FUNCTIONAL:
        _department(demo, key, name, DepartmentKind.FUNCTIONAL, district)
    for key, name, (level, index), _count in PROPERTY:
        area = demo.streets[index] if level == "street" else demo.communities[index]
        _department(demo, key, name, DepartmentKind.PROPERTY_COMPANY, area)
    key, name, _count = OTHER
    _department(demo, key, name, DepartmentKind.OTHER, district)
    db.session.flush()


def _user(demo: _Demo, username: str, role: Role, *, scope: Area | None = None,
          department: Department | None = None, own_hash: bool = False) -> User:
    user = User(username=username, display_name=_person(demo), phone=_phone(demo.rng), role=role,
                scope_area=scope, department=department)
    if own_hash or demo.shared_hash is None:
        # The seven demo accounts get their own salted hash; the rest of the staff share one hash
        # of the same password (scrypt costs ~0.15 s each, 60 of them would dominate seeding).
        user.set_password(DEMO_PASSWORD)
        if not own_hash:
            demo.shared_hash = user.password_hash
    else:
        user.password_hash = demo.shared_hash
    check_user_setup(user)
    db.session.add(user)
    demo.users.append(user)
    return user


def _seed_users(demo: _Demo) -> None:
    district, deps = demo.district, demo.departments
    _user(demo, "admin", Role.ADMIN, own_hash=True)
    demo.district_staff.append(_user(demo, "district", Role.DISTRICT_CENTRE, scope=district,
                                     department=demo.centre_of[0], own_hash=True))
    demo.district_staff.append(_user(demo, "dc_02", Role.DISTRICT_CENTRE, scope=district,
                                     department=demo.centre_of[0]))
    _user(demo, "leader", Role.LEADER, scope=district, own_hash=True)
    for s, street in enumerate(demo.streets):
        first = s == 0
        demo.street_staff[street.id] = [
            _user(demo, "street" if first else f"sc_{street.code}", Role.STREET_CENTRE, scope=street,
                  department=demo.centre_of[s + 1], own_hash=first)]
    for c, community in enumerate(demo.communities):
        demo.community_staff[community.id] = [
            _user(demo, "community" if (c == 0 and k == 1) else f"cs_{community.code}_{k}",
                  Role.COMMUNITY_STAFF, scope=community, department=demo.office_of[c],
                  own_hash=(c == 0 and k == 1))
            for k in (1, 2)]
    for g, grid in enumerate(demo.grids):
        demo.grid_worker[grid.area.id] = _user(
            demo, "gridworker" if g == 0 else f"gw_{grid.area.code}", Role.GRID_WORKER,
            scope=grid.area, department=demo.office_of[grid.community_index], own_hash=g == 0)
    handler_specs = [(key, count) for key, _name, count in FUNCTIONAL]
    handler_specs += [(key, count) for key, _name, _area, count in PROPERTY] + [(OTHER[0], OTHER[2])]
    for key, count in handler_specs:
        department = deps[key]
        staff = demo.handlers.setdefault(department.id, [])
        for n in range(1, count + 1):
            demo_account = key == "hw" and n == 1
            staff.append(_user(demo, "handler" if demo_account else f"{key}_{n:02d}", Role.HANDLER,
                               scope=department.area, department=department, own_hash=demo_account))
    db.session.flush()


# ---- categories and the responsibility matrix ----------------------------------------------
def _seed_categories(demo: _Demo) -> None:
    order = 0
    for (code, name, level, accept, handle), children in CATEGORY_TREE:
        order += 10
        parent = Category(code=code, name=name, handling_level=level, accept_deadline=accept[0],
                          accept_deadline_unit=accept[1], handle_deadline=handle[0],
                          handle_deadline_unit=handle[1], sort_order=order)
        db.session.add(parent)
        demo.categories[code] = parent
        for sub_order, (sub_code, sub_name, sub_level, sub_accept, sub_handle, photo, _w) in \
                enumerate(children, start=1):
            child = Category(code=sub_code, name=sub_name, parent=parent, handling_level=sub_level,
                             accept_deadline=sub_accept[0], accept_deadline_unit=sub_accept[1],
                             handle_deadline=sub_handle[0], handle_deadline_unit=sub_handle[1],
                             requires_after_photo=photo, sort_order=sub_order * 10)
            db.session.add(child)
            demo.categories[sub_code] = child
    demo.categories["03"].listed_publicly = False  # disputes stay off Open311's public list
    demo.categories["0101"].custom_fields = GARBAGE_FIELDS
    for category in demo.categories.values():
        check_category(category)
    db.session.flush()


def _seed_rules(demo: _Demo) -> None:
    for order, (code, where, kind, key, handle, note) in enumerate(RULES, start=1):
        if where == "district":
            area = demo.district
        else:
            level, index = where
            area = demo.streets[index] if level == "street" else demo.communities[index]
        rule = DispatchRule(category=demo.categories[code], area=area, responsible_kind=kind,
                            department=demo.departments[key] if key else None,
                            handle_deadline=handle[0] if handle else None,
                            handle_deadline_unit=handle[1] if handle else None,
                            sort_order=100, note=note)
        check_dispatch_rule(rule)
        db.session.add(rule)
        demo.rules.append(rule)
    db.session.flush()


# ---- tickets -------------------------------------------------------------------------------
def _weighted(rng: random.Random, table: dict):
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


def _plan_tickets(demo: _Demo, count: int) -> list[_Plan]:
    rng, zone = demo.rng, local_zone()
    now_local = demo.now.astimezone(zone)
    subs = [(code, weight) for _parent, children in CATEGORY_TREE
            for code, _n, _l, _a, _h, _p, weight in children]
    grid_weights = [rng.uniform(0.6, 1.6) for _ in demo.grids]
    chronic = next(g for g in demo.grids
                   if (g.community_index, g.number) == CHRONIC_PARKING)
    # More reports lately (the system caught on), so the board has a live queue to show.
    day_weights = list(accumulate(1.0 + 0.5 * (1 - d / 365) + 6.0 * 0.93 ** d for d in range(365)))
    plans: list[_Plan] = []
    for _ in range(count):
        days_ago = rng.choices(range(365), cum_weights=day_weights)[0]
        day = now_local.date() - timedelta(days=days_ago)
        month = day.month
        weights = [w * SEASONALITY.get(code, {}).get(month, 1.0) for code, w in subs]
        code = rng.choices([c for c, _ in subs], weights=weights)[0]
        category = demo.categories[code]
        is_chronic = code == "0201" and rng.random() < CHRONIC_PARKING_SHARE
        grid = chronic if is_chronic else rng.choices(demo.grids, weights=grid_weights)[0]
        sources = dict(SOURCE_WEIGHTS)
        if code in LESS_PATROL or is_chronic:
            sources[Source.PATROL] = 6
        source = _weighted(rng, sources)
        if source == Source.PATROL:
            moment = time(rng.randint(8, 16), rng.randint(0, 59))
        else:
            moment = time(rng.choices(range(24), weights=[1, 1, 1, 1, 1, 1, 2, 5, 8, 9, 9, 8,
                                                          6, 7, 8, 8, 8, 7, 6, 6, 5, 4, 3, 2])[0],
                          rng.randint(0, 59))
        created = datetime.combine(day, moment, zone)
        if created > now_local - timedelta(minutes=15):
            created = now_local - timedelta(minutes=rng.randint(15, 600))
        created = created.astimezone(demo.now.tzinfo)
        age_days = (demo.now - created).total_seconds() / 86400
        table = next(t for limit, t in STATUS_BY_AGE if age_days < limit)
        status = _weighted(rng, table)
        if code in URGENT_PRONE:
            priority = _weighted(rng, {Priority.NORMAL: 55, Priority.URGENT: 35, Priority.EMERGENCY: 10})
        else:
            priority = _weighted(rng, {Priority.NORMAL: 90, Priority.URGENT: 9, Priority.EMERGENCY: 1})
        plans.append(_Plan(created=created, category=category, grid=grid, source=source,
                           status=status, priority=priority, chronic=is_chronic))
    plans.sort(key=lambda p: p.created)
    _ensure_every_status(demo, plans)
    # About half of the invalid tickets are duplicates of an earlier report of the same problem.
    for index, plan in enumerate(plans):
        if plan.status != TicketStatus.INVALID or rng.random() < 0.45:
            continue
        candidates = [i for i in range(index - 1, -1, -1)
                      if plans[i].created > plan.created - timedelta(days=10)
                      and plans[i].status != TicketStatus.INVALID
                      and plans[i].merge_of is None][:30]
        if candidates:
            original = rng.choice(candidates)
            plan.merge_of = original
            plan.category, plan.grid = plans[original].category, plans[original].grid
            plan.chronic = plans[original].chronic
            if plan.source == Source.PATROL:
                plan.source = Source.PHONE
    return plans


def _ensure_every_status(demo: _Demo, plans: list[_Plan]) -> None:
    """Small counts could miss a status by chance: give each missing one to a recent ticket."""
    present = {p.status for p in plans}
    for status in TicketStatus:
        if status in present:
            continue
        recent = [p for p in plans[-40:] if p.status in (TicketStatus.IN_PROGRESS, TicketStatus.CLOSED)]
        demo.rng.choice(recent).status = status
        present.add(status)


def _seed_tickets(demo: _Demo, count: int) -> tuple[list[Ticket], int]:
    plans = _plan_tickets(demo, count)
    tickets: list[Ticket] = []
    events = 0
    with db.session.no_autoflush:
        for index, plan in enumerate(plans):
            ticket, added = _make_ticket(demo, plan, plans, tickets)
            tickets.append(ticket)
            events += added
            if (index + 1) % FLUSH_EVERY == 0:
                db.session.flush()
    return tickets, events


def _texts(demo: _Demo, plan: _Plan) -> tuple[str, str, str]:
    """Title, the reported problem (without the channel's preamble) and the address."""
    rng = demo.rng
    grid = plan.grid
    values = {
        "road": grid.road if rng.random() < 0.7 else rng.choice(grid.roads),
        "estate": grid.estate if rng.random() < 0.7 else rng.choice(grid.estates),
        "no": 10 * (grid.number - 1) + rng.randint(1, 60) * 2 + rng.randint(0, 1),
        "bldg": rng.randint(1, 28), "unit": rng.randint(1, 4), "place": rng.choice(PLACES),
        "gate": rng.choice(GATES), "shop": rng.choice(SHOPS),
    }
    words = CHRONIC_TEXTS if plan.chronic else TEXTS[plan.category.code]
    which = rng.randrange(len(words["titles"]))
    title_template = words["titles"][which]
    text_template = words["texts"][min(which, len(words["texts"]) - 1)]
    if plan.chronic:
        address = CHRONIC_SPOT
    elif "{estate}" in title_template:
        address = "{estate}{bldg}幢".format(**values)
        if "{unit}" in title_template:
            address += "{unit}单元".format(**values)
    elif "{no}" in title_template:
        address = "{road}{no}号".format(**values)
    else:
        address = "{road}{place}".format(**values)
    return (title_template.format(**values), text_template.format(**values),
            f"{grid.street.name}{address}")


def _point_in(rng: random.Random, polygon: Polygon, near: tuple[float, float] | None = None):
    min_x, min_y, max_x, max_y = polygon.bounds
    for attempt in range(1000):
        if near is not None and attempt < 50:
            x, y = near[0] + rng.uniform(-0.0004, 0.0004), near[1] + rng.uniform(-0.0003, 0.0003)
        else:
            x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        x, y = round(x, 6), round(y, 6)
        if polygon.contains(Point(x, y)):
            return x, y
    raise RuntimeError("no point found inside the grid")


def _reporter(demo: _Demo, plan: _Plan) -> dict:
    rng = demo.rng
    if plan.source == Source.PATROL:
        return {}
    if plan.chronic and rng.random() < 0.6:
        # The same few neighbours call about the market every week.
        regulars = [("胡阿姨", "13906712288"), ("陈建华", "13857105566"), ("沈女士", "15968123340")]
        name, phone = rng.choice(regulars)
        return {"reporter_name": name, "reporter_phone": phone}
    roll = rng.random()
    if roll < 0.6:
        name = _person_name(rng)
    elif roll < 0.9:
        name = rng.choice(SURNAMES) + rng.choice(("先生", "女士", "阿姨", "师傅"))
    else:
        name = None  # anonymous
    result = {"reporter_name": name, "reporter_phone": _phone(rng) if rng.random() < 0.95 else None}
    if plan.source == Source.WEB and rng.random() < 0.5:
        result["reporter_email"] = f"resident{rng.randint(1000, 9999)}@example.com"
    return result


def _person_name(rng: random.Random) -> str:
    """A Chinese name: a surname and one or two given characters."""
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))


def _owner(demo: _Demo, category: Category, grid: Area) -> Owner:
    key = (category.id, grid.id)
    if key not in demo.owners:
        demo.owners[key] = resolve_owner(category, grid)
    return demo.owners[key]


def _acceptor(demo: _Demo, department: Department, grid: _Grid) -> User:
    rng = demo.rng
    if department.kind == DepartmentKind.COMMUNITY_OFFICE:
        return rng.choice(demo.community_staff[department.area_id])
    if department.kind == DepartmentKind.COMMAND_CENTRE:
        pool = demo.district_staff if department.area_id == demo.district.id \
            else demo.street_staff[department.area_id]
        return rng.choice(pool)
    staff = demo.handlers[department.id]
    return rng.choices(staff, weights=[2] + [1] * (len(staff) - 1))[0]


def _reviewer(demo: _Demo, submitter: User, department: Department, grid: _Grid) -> User:
    """Who approves or rejects a result: the level above the one who did the work, never them."""
    rng = demo.rng
    street_staff = demo.street_staff[grid.street.id]
    if submitter.role == Role.GRID_WORKER:
        pool = demo.community_staff[grid.community.id]
    elif department.kind == DepartmentKind.COMMUNITY_OFFICE:
        pool = street_staff
    elif department.area.level == AreaLevel.COMMUNITY:
        pool = demo.community_staff[grid.community.id]
    elif department.area.level == AreaLevel.STREET:
        pool = street_staff
    else:
        pool = demo.district_staff if rng.random() < 0.6 else street_staff
    pool = [u for u in pool if u is not submitter]
    return rng.choice(pool)


def _supervisor(demo: _Demo, grid: _Grid) -> User:
    """Who marks a ticket invalid or merges it: community staff or the street centre."""
    rng = demo.rng
    pool = demo.community_staff[grid.community.id] if rng.random() < 0.6 \
        else demo.street_staff[grid.street.id]
    return rng.choice(pool)


def _between(rng: random.Random, start: datetime, end: datetime, lo: float, hi: float) -> datetime:
    """A moment between lo and hi shares of the span start → end."""
    return start + (end - start) * rng.uniform(lo, hi)


def _minutes(rng: random.Random, lo: float, hi: float) -> timedelta:
    return timedelta(minutes=rng.uniform(lo, hi))


WAKING_HOURS = (time(7, 30), time(21, 30))


def _waking(rng: random.Random, moment: datetime, zone, not_before: datetime) -> datetime:
    """The moment itself in waking hours, else the evening before (when that is still after
    ``not_before``) or early the next morning (local time)."""
    local = moment.astimezone(zone)
    begin, end = WAKING_HOURS
    if begin <= local.time() <= end:
        return moment
    day = local.date() if local.time() < begin else local.date() + timedelta(days=1)
    evening = (datetime.combine(day - timedelta(days=1), end, zone) - _minutes(rng, 0, 120))
    if evening > not_before and rng.random() < 0.7:
        return evening.astimezone(moment.tzinfo)
    morning = datetime.combine(day, begin, zone) + _minutes(rng, 0, 150)
    return morning.astimezone(moment.tzinfo)


def _rating(rng: random.Random, late: bool, rework: int) -> int:
    weights = [4, 6, 10, 25, 55]
    if late or rework:
        weights = [10, 14, 22, 28, 26]
    return rng.choices([1, 2, 3, 4, 5], weights=weights)[0]


def _make_ticket(demo: _Demo, plan: _Plan, plans: list[_Plan],
                 earlier: list[Ticket]) -> tuple[Ticket, int]:
    rng, created, grid, category = demo.rng, plan.created, plan.grid, plan.category
    group = category.code[:2]
    worker = demo.grid_worker[grid.area.id]
    original = earlier[plan.merge_of] if plan.merge_of is not None else None
    near = None
    if original is not None:  # a second report of the same problem, in the reporter's words
        plan.text = plans[plan.merge_of].text
        near = (original.lon, original.lat)
    else:
        plan.text = _texts(demo, plan)
    title, seen, address = plan.text
    description = (rng.choice(SOURCE_PREFIX[plan.source]) + seen
                   + (rng.choice(ASKS) if plan.source != Source.PATROL else "已拍照留存。"))
    lon, lat = _point_in(rng, grid.polygon, near)
    ticket = open_ticket(
        category=category, title=title, description=description, source=plan.source,
        area=grid.area, lat=lat, lon=lon, address=address, priority=plan.priority,
        actor=worker if plan.source == Source.PATROL else None, at=created,
        **_reporter(demo, plan))

    owner = _owner(demo, category, grid.area)
    rule = owner.rule
    accept_amount, accept_unit = category.accept_deadline, category.accept_deadline_unit
    handle_amount, handle_unit = category.handle_deadline, category.handle_deadline_unit
    if rule is not None and rule.accept_deadline is not None:
        accept_amount, accept_unit = rule.accept_deadline, rule.accept_deadline_unit
    if rule is not None and rule.handle_deadline is not None:
        handle_amount, handle_unit = rule.handle_deadline, rule.handle_deadline_unit
    ticket.accept_deadline = deadline_after(created, accept_amount, accept_unit)
    ticket.handle_deadline = deadline_after(created, handle_amount, handle_unit)

    # The life of the ticket as (moment, action, append_event arguments), applied at the end.
    steps: list[tuple[datetime, str, dict]] = []
    t = created + _minutes(rng, 0.3, 4)
    steps.append((t, "dispatch", dict(to_department=owner.department, to_user=owner.user,
                                      details={"rule_id": rule.id if rule else None})))
    department, assignee, level = owner.department, owner.user, owner.level
    status = plan.status
    # Emergencies and short natural-hour deadlines are worked through the night.
    round_the_clock = plan.priority == Priority.EMERGENCY or (
        ticket.handle_deadline - created <= timedelta(hours=12))
    zone = local_zone()

    def add(moment: datetime, action: str, **kwargs) -> None:
        """The next step, no earlier than the last one, and in waking hours unless an emergency."""
        nonlocal t
        moment = max(t, moment)
        if not round_the_clock:
            moment = _waking(rng, moment, zone, not_before=t)
        t = moment
        steps.append((t, action, kwargs))

    if status != TicketStatus.PENDING and rule is None:
        # A gap in the matrix: the command centre reads the ticket and hands it on by hand.
        centre_user = _acceptor(demo, department, grid)
        target = GAP_TARGET.get(group, "community")
        department = demo.office_of[grid.community_index] if target == "community" \
            else demo.departments[target]
        level = department.area.level
        add(t + _minutes(rng, 10, 240), "assign", actor=centre_user, to_department=department,
            to_user=None, note=f"经研判，交{department.name}处置。")

    accept_window = ticket.accept_deadline - created
    handle_window = ticket.handle_deadline - created
    rework = 0
    rating = comment = recorder = None
    late = False

    def accept() -> User:
        who = assignee or _acceptor(demo, department, grid)
        if rng.random() < 0.88:
            moment = _between(rng, created, ticket.accept_deadline, 0.05, 0.9)
        else:
            moment = created + accept_window * rng.uniform(1.05, 1.6)
        add(max(t + _minutes(rng, 1, 10), moment), "accept", actor=who,
            to_status=TicketStatus.IN_PROGRESS, to_user=who,
            note=rng.choice(["已受理，马上处理。", "收到，前往现场。", None]))
        return who

    def progress(who: User, until: datetime) -> None:
        """Zero to two progress notes between now (in the story) and ``until``."""
        if until - t < timedelta(minutes=30):
            return
        for moment in sorted(_between(rng, t, until, 0.1, 0.9)
                             for _ in range(rng.choice((0, 0, 1, 1, 2)))):
            add(moment, "note", actor=who, note=rng.choice(PROGRESS[group]))

    def submit(who: User, on_time: bool) -> None:
        if on_time:
            moment = created + handle_window * rng.uniform(0.25, 0.8)
        else:
            moment = created + handle_window * rng.uniform(1.1, 2.5)
        moment = max(t + _minutes(rng, 20, 120), moment)
        progress(who, moment)
        add(moment, "submit", actor=who, to_status=TicketStatus.PENDING_REVIEW,
            note=rng.choice(TEXTS[category.code]["results"]))

    def reject(who: User) -> None:
        nonlocal rework
        rework += 1
        add(t + _minutes(rng, 60, 20 * 60), "reject", actor=_reviewer(demo, who, department, grid),
            to_status=TicketStatus.IN_PROGRESS, note=rng.choice(REJECT_NOTES))

    if status == TicketStatus.INVALID:
        supervisor = _supervisor(demo, grid)
        if original is not None:
            ticket.duplicate_of = original
            add(t + _minutes(rng, 20, 600), "merge", actor=supervisor, to_status=TicketStatus.INVALID,
                note=f"与工单{original.number}反映同一问题，合并处理。",
                details={"duplicate_of": original.number})
        else:
            if rng.random() < 0.4:
                accept()
            add(t + _minutes(rng, 30, 600), "invalidate", actor=supervisor,
                to_status=TicketStatus.INVALID, note=rng.choice(INVALID_REASONS))
    elif status != TicketStatus.PENDING:
        who = accept()
        late = rng.random() < 0.06
        if status in (TicketStatus.SUSPENDED, TicketStatus.IN_PROGRESS):
            progress(who, max(created + handle_window * 0.8, t + timedelta(hours=2)))
        if status == TicketStatus.SUSPENDED:
            add(t + _minutes(rng, 60, 48 * 60), "suspend", actor=who, to_status=TicketStatus.SUSPENDED,
                note=rng.choice(SUSPEND_REASONS.get(group, DEFAULT_SUSPEND)))
        elif status == TicketStatus.IN_PROGRESS:
            if rng.random() < 0.15:
                submit(who, True)
                reject(who)
        else:  # pending review or closed
            submit(who, not late)
            if rng.random() < 0.1:
                reject(who)
                submit(who, rng.random() < 0.6)
            if status == TicketStatus.CLOSED:
                reviewer = _reviewer(demo, who, department, grid)
                if not late and ticket.handle_deadline - t > timedelta(minutes=40):
                    moment = _between(rng, t, ticket.handle_deadline, 0.05, 0.8)  # reviewed in time
                else:
                    moment = t + _minutes(rng, 30, 24 * 60)
                add(moment, "approve", actor=reviewer, to_status=TicketStatus.CLOSED,
                    note=rng.choice(APPROVE_NOTES))
                if plan.source != Source.PATROL and rng.random() < 0.88:
                    rating = _rating(rng, late, rework)
                    comment = rng.choice(RATING_COMMENTS[rating])
                    add(t + _minutes(rng, 60, 72 * 60), "rate", actor_kind=ActorKind.REPORTER,
                        note=comment, details={"rating": rating})
                elif plan.source == Source.PATROL and rng.random() < 0.5:
                    # No reporter to ask: the community phones the neighbours (回访).
                    rating, comment = rng.choice((4, 5, 5)), rng.choice(REVISIT_COMMENTS)
                    recorder = rng.choice(demo.community_staff[grid.community.id])
                    add(t + _minutes(rng, 60, 72 * 60), "follow_up", actor=recorder,
                        note=comment, details={"rating": rating})

    # A life longer than the time since the report is squeezed to end just before now.
    limit = demo.now - timedelta(minutes=1)
    if steps[-1][0] > limit:
        scale = (limit - created) / (steps[-1][0] - created)
        steps = [(created + (at - created) * scale, action, kwargs) for at, action, kwargs in steps]
    moments: dict[str, list[datetime]] = {}
    for at, action, kwargs in steps:
        append_event(ticket, action, at=at, **kwargs)
        moments.setdefault(action, []).append(at)
    accepted = moments.get("accept", [None])[0]
    submitted = moments.get("submit", [None])[-1]
    closed = moments.get("approve", [None])[-1]
    rated = (moments.get("rate") or moments.get("follow_up") or [None])[-1]

    ticket.current_level = level
    ticket.accepted_at, ticket.submitted_at, ticket.closed_at = accepted, submitted, closed
    ticket.rating, ticket.rating_comment, ticket.rated_at = rating, comment, rated
    if rating is not None:  # the reporter's own, or a follow-up recorded by community staff
        ticket.rating_source = RatingSource.FOLLOW_UP if recorder else RatingSource.REPORTER
        ticket.rated_by = recorder
    ticket.rework_count = rework
    ticket.updated_at = steps[-1][0]
    return ticket, len(steps) + 1
