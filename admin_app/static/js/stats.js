/* GridDesk statistics pages: ECharts charts drawn from the JSON the page carries.
   Each chart element has data-chart="KIND" and data-source="ID of a <script type=application/json>".
   Clicking a bar, a point or a heat-map cell opens the ticket list behind it (item.url). */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function openUrl(params) {
    var item = params && params.data;
    if (item && item.url) { window.location.href = item.url; }
  }

  var PALETTE = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#198754", "#0dcaf0", "#ffc107"];

  var builders = {
    // {labels: [...], series: [{name, data: [{value, url}]}]}
    trend: function (data) {
      return {
        color: PALETTE,
        tooltip: {trigger: "axis"},
        legend: {top: 0},
        grid: {left: 40, right: 20, top: 36, bottom: 30},
        xAxis: {type: "category", data: data.labels, axisLabel: {hideOverlap: true}},
        yAxis: {type: "value", minInterval: 1},
        series: data.series.map(function (s) {
          return {name: s.name, type: "line", smooth: true, showSymbol: data.labels.length < 40,
                  data: s.data, areaStyle: s.area ? {opacity: 0.12} : undefined};
        })
      };
    },
    // {labels: [...], series: [{name, data: [{value, url}]}]} drawn as horizontal bars
    bars: function (data) {
      var labels = data.labels.slice().reverse();
      return {
        color: PALETTE,
        tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
        legend: {top: 0, show: data.series.length > 1},
        grid: {left: 8, right: 40, top: data.series.length > 1 ? 30 : 8, bottom: 8, containLabel: true},
        xAxis: {type: "value", minInterval: 1},
        yAxis: {type: "category", data: labels, axisLabel: {width: 130, overflow: "truncate"}},
        series: data.series.map(function (s) {
          return {name: s.name, type: "bar", data: s.data.slice().reverse(),
                  label: {show: true, position: "right"}, barMaxWidth: 18};
        })
      };
    },
    // grid workers: {labels, count: [{value,url}], hours: [...], satisfaction: [...]}
    workers: function (data) {
      return {
        color: ["#0d6efd", "#fd7e14", "#198754"],
        tooltip: {trigger: "axis"},
        legend: {top: 0},
        grid: {left: 40, right: 100, top: 40, bottom: 60},
        xAxis: {type: "category", data: data.labels, axisLabel: {rotate: 40, interval: 0}},
        yAxis: [{type: "value", name: data.axis_count, minInterval: 1},
                {type: "value", name: data.axis_hours, splitLine: {show: false}},
                {type: "value", name: data.axis_share, min: 0, max: 100, offset: 50,
                 splitLine: {show: false}, axisLabel: {formatter: "{value}%"}}],
        series: [
          {name: data.name_count, type: "bar", data: data.count, barMaxWidth: 14},
          {name: data.name_hours, type: "bar", yAxisIndex: 1, data: data.hours, barMaxWidth: 14},
          {name: data.name_satisfaction, type: "line", yAxisIndex: 2, data: data.satisfaction,
           connectNulls: true}
        ]
      };
    },
    // month × category: {months: [...], categories: [...], cells: [[x, y, value, url]], max}
    heatmap: function (data) {
      return {
        tooltip: {position: "top", formatter: function (p) {
          return data.categories[p.data.value[1]] + " · " + data.months[p.data.value[0]] + "：" + p.data.value[2];
        }},
        grid: {left: 8, right: 16, top: 8, bottom: 70, containLabel: true},
        xAxis: {type: "category", data: data.months, splitArea: {show: true}, axisLabel: {rotate: 45}},
        yAxis: {type: "category", data: data.categories, splitArea: {show: true}},
        visualMap: {min: 0, max: Math.max(1, data.max), calculable: true, orient: "horizontal",
                    left: "center", bottom: 0, itemHeight: 160,
                    inRange: {color: ["#f8f9fa", "#ffe08a", "#fd7e14", "#dc3545"]}},
        series: [{type: "heatmap", data: data.cells.map(function (c) {
          return {value: [c[0], c[1], c[2]], url: c[3]};
        }), label: {show: data.months.length <= 14, formatter: function (p) { return p.data.value[2] || ""; }},
          emphasis: {itemStyle: {shadowBlur: 6, shadowColor: "rgba(0,0,0,.3)"}}}]
      };
    }
  };

  function draw(el) {
    var data = readJson(el.getAttribute("data-source"));
    var kind = el.getAttribute("data-chart");
    if (!data || !builders[kind]) { return; }
    var chart = echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(builders[kind](data));
    chart.on("click", openUrl);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
  });
})();
