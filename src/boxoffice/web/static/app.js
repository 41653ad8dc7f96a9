// The live parts of the pages: the visitor's time zone, the waiting line, the seat map, the
// hold's countdown, the operator's live sale, and notices said once. No library and no build
// step.
"use strict";

(function () {
  // Dates: the server writes them in the zone the browser reported last time (Seoul before
  // that); tell it the zone and show this page's dates in it now.
  const ZONE_COOKIE = "boxoffice_tz";
  function rememberZone() {
    let zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    if (!zone) return;
    const known = document.cookie.split("; ").some(function (c) { return c === ZONE_COOKIE + "=" + encodeURIComponent(zone); });
    if (known) return;
    document.cookie = ZONE_COOKIE + "=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    const lang = document.documentElement.lang || "en";
    // The server's own format (weekday, date, then the time) for the pages to come.
    const format = new Intl.DateTimeFormat(lang, {
      weekday: "short", year: "numeric", month: "short", day: "numeric",
      hour: "numeric", minute: "2-digit"
    });
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      const moment = new Date(el.getAttribute("datetime"));
      if (!isNaN(moment)) el.textContent = format.format(moment);
    });
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    const two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(s);
  }

  // A live stream with a polling fallback: `onData(name, data)` gets the stream's events;
  // when the stream cannot be kept open, `poll()` is called every `every` ms instead.
  function live(eventsUrl, names, onData, poll, every) {
    let polling = null;
    function startPolling() {
      if (polling) return;
      document.documentElement.dataset.live = "polling";
      poll();
      polling = setInterval(poll, every);
    }
    if (!("EventSource" in window) || !eventsUrl) { startPolling(); return { close: function () {} }; }
    const source = new EventSource(eventsUrl);
    let opened = false;
    source.onopen = function () { opened = true; document.documentElement.dataset.live = "stream"; };
    names.forEach(function (name) {
      source.addEventListener(name, function (event) {
        try { onData(name, JSON.parse(event.data)); } catch (e) { /* a malformed event is skipped */ }
      });
    });
    source.onerror = function () {
      // Never opened (no stream here) or closed for good: poll instead. A stream that was
      // open reconnects by itself.
      if (!opened || source.readyState === EventSource.CLOSED) { source.close(); startPolling(); }
    };
    return { close: function () { source.close(); if (polling) clearInterval(polling); } };
  }

  function waitingLine(box) {
    const main = box.querySelector("[data-line-main]");
    const detail = box.querySelector("[data-line-detail]");
    // Outside the live region: it changes every second.
    const countdown = box.querySelector("[data-line-countdown]");
    const text = box.dataset;
    let opensTimer = null;
    let opensAt = null;
    let stream = null;
    function say(mainText, detailText) {
      main.hidden = false;
      main.textContent = mainText;
      detail.textContent = detailText;
    }
    function stopCountdown() {
      if (opensTimer) { clearInterval(opensTimer); opensTimer = null; }
      countdown.hidden = true;
      countdown.textContent = "";
    }
    function show(status) {
      if (status.status === "ACTIVE") {
        stopCountdown();
        say(text.textAdmitted, "");
        if (stream) stream.close();
        window.location.assign(text.seats);
        return;
      }
      if (status.status === "EXPIRED") {
        stopCountdown();
        say(text.textExpired, "");
        if (stream) stream.close();
        setTimeout(function () { window.location.reload(); }, 1500);
        return;
      }
      if (status.opens_at) { countdownToOpening(new Date(status.opens_at)); return; }
      stopCountdown();
      say(
        fill(text.textPosition, { position: status.position }),
        status.eta_seconds
          ? fill(text.textEta, { minutes: Math.max(1, Math.ceil(status.eta_seconds / 60)) })
          : text.textEtaUnknown
      );
    }
    function countdownToOpening(moment) {
      opensAt = moment;
      function tick() { countdown.textContent = fill(text.textOpens, { time: clock((opensAt - Date.now()) / 1000) }); }
      countdown.hidden = false;
      tick();
      if (!opensTimer) opensTimer = setInterval(tick, 1000);
    }
    const opens = box.querySelector("[data-opens-at]");
    if (opens) countdownToOpening(new Date(opens.dataset.opensAt));
    stream = live(text.events, ["status"], function (_, status) { show(status); }, function () {
      fetch(text.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : r.status === 403 ? { status: "EXPIRED" } : null; })
        .then(function (status) { if (status) show(status); })
        .catch(function () {});
    }, 2000);
  }

  function seatMap(form) {
    const buttons = {};
    form.querySelectorAll("[data-seat-id]").forEach(function (b) { buttons[b.dataset.seatId] = b; });
    function mark(seat) {
      const button = buttons[String(seat.id)];
      if (button) button.disabled = seat.status !== "AVAILABLE";
    }
    live(form.dataset.events, ["snapshot", "seat"], function (name, data) {
      if (name === "snapshot") (data.items || []).forEach(mark); else mark(data);
    }, function () {
      fetch(form.dataset.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (listing) { if (listing) listing.items.forEach(mark); })
        .catch(function () {});
    }, 1000);
  }

  function holdCountdown(box) {
    const expires = new Date(box.dataset.expires);
    const left = box.querySelector("[data-hold-left]");
    const alert = box.querySelector("[data-hold-alert]");
    const actions = document.querySelector("[data-hold-actions]");
    function tick() {
      const seconds = (expires - Date.now()) / 1000;
      if (seconds > 0) { left.textContent = fill(box.dataset.textLeft, { time: clock(seconds) }); return; }
      clearInterval(timer);
      left.textContent = fill(box.dataset.textLeft, { time: clock(0) });
      alert.textContent = box.dataset.textExpired;
      alert.className = "message error";
      if (actions) actions.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }
    const timer = setInterval(tick, 250);
    tick();
  }

  function liveSale(region) {
    const format = new Intl.NumberFormat(document.documentElement.lang || "en");
    function update(numbers) {
      Object.keys(numbers).forEach(function (key) {
        const el = region.querySelector('[data-count="' + key + '"]');
        if (el && typeof numbers[key] === "number") el.textContent = format.format(numbers[key]);
      });
    }
    function poll() {
      fetch(region.dataset.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (numbers) { if (numbers) update(numbers); })
        .catch(function () {});
    }
    setInterval(poll, 1000);
  }

  // A notice or a problem that came in the address ("?paid=12" after a payment, "?taken=7"
  // after a lost race) is said once: the address loses it, so a reload or a bookmark does not
  // say it again.
  function forgetOnceNotices() {
    const said = document.querySelectorAll("[data-once]");
    if (!said.length || !window.history.replaceState) return;
    const url = new URL(window.location.href);
    said.forEach(function (message) {
      message.dataset.once.split(" ").forEach(function (name) { url.searchParams.delete(name); });
    });
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }

  document.addEventListener("DOMContentLoaded", function () {
    rememberZone();
    forgetOnceNotices();
    document.querySelectorAll("[data-line]").forEach(waitingLine);
    document.querySelectorAll("[data-seatmap]").forEach(seatMap);
    document.querySelectorAll("[data-hold]").forEach(holdCountdown);
    document.querySelectorAll("[data-live-sale]").forEach(liveSale);
  });
})();
