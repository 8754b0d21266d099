import './styles.css';
import { appRoot, h, replaceChildren } from './lib/dom.js';
import { parseRoute, startRouter } from './lib/router.js';
import { meetingPage } from './meeting/meeting-page.js';
import { authView } from './views/auth.js';
import { homeView } from './views/home.js';

function render(): void {
  const route = parseRoute(location);
  const root = appRoot();
  switch (route.name) {
    case 'home':
      replaceChildren(root, homeView());
      return;
    case 'signin':
    case 'signup':
      replaceChildren(root, authView(route.name, route.next));
      return;
    case 'meeting':
      replaceChildren(root, meetingPage(route.linkId));
      return;
    case 'notFound':
      replaceChildren(root, h('main', { class: 'page page-center' }, h('h1', {}, 'Page not found'), h('a', { href: '/', 'data-link': true }, 'Go home')));
      return;
  }
}

startRouter(render);
