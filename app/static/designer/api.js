// The JSON API from the designer pages: the page session plus its CSRF token, Chinese failure messages.
(function (global) {
  "use strict";
  var D = global.TongbanDesigner = global.TongbanDesigner || {};

  D.csrf = function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  };

  // POST JSON or FormData with the page session's CSRF token; resolves to {ok, status, body}.
  D.request = function (method, url, body) {
    var headers = { "X-CSRFToken": D.csrf(), "Accept": "application/json" };
    var payload = body;
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(url, { method: method, headers: headers, body: payload, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) {
          var parsed = null;
          try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
          return { ok: response.ok, status: response.status, body: parsed };
        });
      }, function () { return { ok: false, status: 0, body: null }; });
  };

  // A Chinese sentence for a failed request: the API's message and code, or what the status means.
  D.failure = function (result, what) {
    if (result.body && result.body.message) { return what + "失败：" + result.body.message + "（" + result.body.code + "）"; }
    if (result.status === 0) { return what + "失败：无法连接服务器，请检查网络后重试"; }
    if (result.status === 404) { return what + "失败：服务器没有提供此接口（HTTP 404）"; }
    return what + "失败：服务器返回 HTTP " + result.status;
  };

})(window);
