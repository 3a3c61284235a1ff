// MB.live: the dashboard's one WebSocket to the server (/ws, docs/monitor.md).
// Same origin, authenticated by the session cookie.  One socket per page,
// opened once the session is confirmed (MB.ready) and the page asked for
// something; it reconnects with backoff (1 s, 2 s, 4 s ... 30 s, jittered)
// and sends the subscriptions again after every reconnect.
//
//   const off = MB.live.subscribe(customerId, (msg) => ...)
//        samples and monitor events of that customer ("*": every customer);
//        off() unsubscribes (the server is told when the last handler goes)
//   MB.live.on('monitor_stopped', (msg) => ...)   any event by its name
//   MB.live.onSync((msg) => ...)                  every `sync` event
//   MB.live.onState((connected) => ...)           the socket opened / closed
//   MB.live.connected                             true while open
//
// Messages with an "event" key are events; samples never have one.
'use strict';

window.MB = window.MB || {};

(function (MB) {
  if (MB.live) return;               // loaded twice (sync-watch.js loads it too)

  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;

  const channels = new Map();        // customer id or "*" -> Set of handlers
  const events = new Map();          // event name -> Set of handlers
  const stateHandlers = new Set();
  let ws = null;
  let attempt = 0;
  let timer = null;
  let wanted = false;                // something asked for the socket
  let allowed = false;               // the session is confirmed (MB.ready)

  function url() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      try { ws.send(JSON.stringify(obj)); return true; } catch (e) { /* closing */ }
    }
    return false;
  }

  function call(set, msg) {
    if (!set) return;
    for (const h of [...set]) {
      try { h(msg); } catch (e) { console.error('MikroBill live: handler failed', e); }
    }
  }

  function setState(open) {
    live.connected = open;
    call(stateHandlers, open);
  }

  function dispatch(msg) {
    if (!msg || typeof msg !== 'object') return;
    const name = typeof msg.event === 'string' ? msg.event : null;
    if (name) call(events.get(name), msg);
    if (name === 'subscribed' || name === 'unsubscribed' || name === 'error') return;
    if (typeof msg.customer_id === 'string') {
      call(channels.get(msg.customer_id), msg);
      call(channels.get('*'), msg);
    }
  }

  function schedule() {
    if (timer || !wanted) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
    attempt++;
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    timer = setTimeout(() => { timer = null; connect(); }, delay);
  }

  function connect() {
    if (!wanted || !allowed || ws) return;
    if (timer) { clearTimeout(timer); timer = null; }
    let sock;
    try {
      sock = new WebSocket(url());
    } catch (e) {
      schedule();
      return;
    }
    ws = sock;
    sock.onopen = () => {
      if (ws !== sock) return;
      attempt = 0;
      for (const id of channels.keys()) send({ subscribe: id });
      setState(true);
    };
    sock.onmessage = (ev) => {
      if (ws !== sock || typeof ev.data !== 'string') return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      dispatch(msg);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      if (live.connected) setState(false);
      // 1008: the session ended (logout elsewhere, expiry): to the login
      if (ev && ev.code === 1008 && MB.onUnauthorized) {
        wanted = false;
        MB.onUnauthorized();
        return;
      }
      schedule();
    };
    sock.onerror = () => { /* onclose follows */ };
  }

  function want() {
    wanted = true;
    connect();
  }

  // try again at once when the network or the tab comes back
  window.addEventListener('online', () => { if (!ws && wanted) { attempt = 0; connect(); } });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !ws && wanted) { attempt = 0; connect(); }
  });

  const live = {
    connected: false,

    subscribe(channel, handler) {
      channel = String(channel);
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
        send({ subscribe: channel });
      }
      set.add(handler);
      want();
      return () => {
        const s = channels.get(channel);
        if (!s || !s.delete(handler) || s.size) return;
        channels.delete(channel);
        send({ unsubscribe: channel });
      };
    },

    on(name, handler) {
      let set = events.get(name);
      if (!set) { set = new Set(); events.set(name, set); }
      set.add(handler);
      want();
      return () => { set.delete(handler); };
    },

    onSync(handler) { return live.on('sync', handler); },

    onState(handler) {
      stateHandlers.add(handler);
      want();
      return () => { stateHandlers.delete(handler); };
    },

    // open now / close for good (tests, page teardown)
    connect() { want(); },
    close() {
      wanted = false;
      if (timer) { clearTimeout(timer); timer = null; }
      const s = ws;
      ws = null;
      if (s) { try { s.close(1000); } catch (e) { /* already closed */ } }
      if (live.connected) setState(false);
    },
  };
  MB.live = live;

  // only a signed-in page opens the socket (a 401 upgrade would loop)
  const ready = MB.ready || Promise.resolve();
  ready.then(() => { allowed = true; connect(); }, () => {});
})(window.MB);
