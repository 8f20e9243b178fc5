// 效能监察: draw the dashboard's charts with ECharts (served from node_modules via /vendor), and again after
// every htmx swap of the dashboard body. The data comes from the page itself (script#dashboard-data).
(function () {
  "use strict";
  var charts = [];
  var palette = ["#0b5cad", "#2e8b57", "#c0392b", "#d68910", "#7d3c98"];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas", locale: "ZH" });
    chart.setOption(Object.assign({ color: palette, animation: false, tooltip: { trigger: "axis" },
      legend: { top: 0 }, grid: { left: 48, right: 24, top: 36, bottom: 40, containLabel: true } }, option));
    charts.push(chart);
  }

  function series(data, type, extra) {
    return data.series.map(function (s) { return Object.assign({ name: s.name, type: type, data: s.data }, extra || {}); });
  }

  function render() {
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    var holder = document.getElementById("dashboard-data");
    if (!holder) { return; }
    var data = JSON.parse(holder.textContent);
    draw("chart-trend", { xAxis: { type: "category", data: data.trend.labels }, yAxis: { type: "value", minInterval: 1 },
      series: series(data.trend, "line", { smooth: false, symbolSize: 6 }) });
    draw("chart-districts", { xAxis: { type: "category", data: data.districts.labels, axisLabel: { interval: 0, rotate: 40 } },
      yAxis: { type: "value", minInterval: 1 }, series: series(data.districts, "bar") });
    draw("chart-matters", { yAxis: { type: "category", data: data.matters.labels, axisLabel: { width: 260, overflow: "truncate" } },
      xAxis: { type: "value", minInterval: 1 }, tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      series: series(data.matters, "bar") });
  }

  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "dashboard-body") { render(); }
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
}());
