// The signed-in shell shared by every page but the login page: navigation
// bar (Pelanggan, Peta, Monitor Trafik, Pengaturan; Pengguna comes later),
// the user menu with "Keluar", and the session check.  A page includes
//   <div id="shell"></div> ... <script src="/js/api.js"></script>
//   <script src="/js/shell.js"></script> <script src="/js/PAGE.js"></script>
// and waits for `MB.ready` (resolves with the user from GET /api/me) before
// it loads its data.  Without a session the browser goes to the login page,
// which comes back here afterwards (?next=).
'use strict';

(function (MB) {
  const el = MB.el;

  const NAV = [
    { href: '/pelanggan.html', label: 'Pelanggan', id: 'nav-pelanggan' },
    { href: '/peta.html', label: 'Peta', id: 'nav-peta' },
    { href: '/monitor.html', label: 'Monitor Trafik', id: 'nav-monitor',
      show: (u) => MB.canMonitor(u) },
    { href: '/pengaturan.html', label: 'Pengaturan', id: 'nav-pengaturan' },
    // { href: '/pengguna.html', label: 'Pengguna', id: 'nav-pengguna' },  // later issue
  ];

  // roles that may use the traffic monitor (docs/api.md: USER gets 403)
  MB.canMonitor = function (user) {
    return !!user && ['SUPERADMIN', 'ADMIN', 'TECHNICIAN'].includes(user.role);
  };

  function toLogin() {
    const next = location.pathname + location.search + location.hash;
    location.replace('/index.html?next=' + encodeURIComponent(next));
  }
  MB.onUnauthorized = toLogin;

  function currentPage(href) {
    const p = location.pathname;
    if (href === p) return true;
    // the customer form belongs to Pelanggan
    return href === '/pelanggan.html' && p === '/pelanggan-form.html';
  }

  function navbar(user) {
    const links = el('ul', { class: 'navbar-nav me-auto mb-2 mb-lg-0' });
    for (const n of NAV) {
      if (n.show && !n.show(user)) continue;
      const active = currentPage(n.href);
      links.append(el('li', { class: 'nav-item' },
        el('a', { class: 'nav-link' + (active ? ' active' : ''), href: n.href, id: n.id,
                  'aria-current': active ? 'page' : null, text: n.label })));
    }
    const logout = el('button', { id: 'logout-button', type: 'button',
                                  class: 'btn btn-outline-light btn-sm', text: 'Keluar' });
    logout.addEventListener('click', async () => {
      logout.disabled = true;
      try { await MB.api.post('/api/auth/logout', undefined, { noRedirect: true }); }
      catch (e) { /* the session is gone either way */ }
      location.replace('/index.html');
    });
    const userMenu = el('div', { class: 'd-flex align-items-center gap-2 text-light', id: 'user-menu' },
      el('span', { class: 'navbar-text text-light small' },
        el('strong', { id: 'me-username', text: user.username }),
        ' ', el('span', { class: 'text-white-50', id: 'me-role', text: '(' + user.role + ')' })),
      logout);
    const toggler = el('button', { class: 'navbar-toggler', type: 'button',
                                   'aria-label': 'Menu', 'aria-expanded': 'false' },
                       el('span', { class: 'navbar-toggler-icon' }));
    const collapse = el('div', { class: 'collapse navbar-collapse', id: 'main-nav' },
                        links, userMenu);
    // the collapse toggle without Bootstrap's JS
    toggler.addEventListener('click', () => {
      const open = collapse.classList.toggle('show');
      toggler.setAttribute('aria-expanded', String(open));
    });
    return el('nav', { class: 'navbar navbar-expand-lg navbar-dark bg-dark' },
      el('div', { class: 'container-fluid' },
        el('a', { class: 'navbar-brand', href: '/pelanggan.html', text: 'MikroBill' }),
        toggler, collapse));
  }

  MB.ready = (async () => {
    let me;
    try {
      me = await MB.api.get('/api/me', { noRedirect: true });
    } catch (e) {
      if (e.status === 401) {
        toLogin();
      } else {
        const host = document.getElementById('shell');
        if (host) {
          host.replaceChildren(el('div', { class: 'alert alert-danger m-3', role: 'alert',
                                           text: e.message }));
        }
        document.body.classList.remove('d-none');
      }
      throw e;
    }
    MB.me = me.user;
    const host = document.getElementById('shell');
    if (host) host.replaceChildren(navbar(me.user));
    document.body.classList.remove('d-none');
    return me.user;
  })();
  // pages chain on MB.ready; an unhandled rejection here is expected on 401
  MB.ready.catch(() => {});

  // page-level message area: MB.notice('text', 'danger'|'success'|...)
  MB.notice = function (text, kind, hostId) {
    const host = document.getElementById(hostId || 'page-alert');
    if (!host) return;
    if (!text) { host.replaceChildren(); return; }
    host.replaceChildren(el('div', { class: 'alert alert-' + (kind || 'danger') + ' py-2',
                                     role: 'alert', text }));
  };
})(window.MB);
