import { api, ApiError } from '../lib/api.js';
import { saveSession } from '../lib/auth-store.js';
import { describeError } from '../lib/errors.js';
import { field, h } from '../lib/dom.js';
import { navigate } from '../lib/router.js';
import { displayNameSchema, emailSchema, passwordSchema } from '../wire.js';

/** Sign in and sign up share one form; sign-up adds the display name. */
export function authView(mode: 'signin' | 'signup', next: string | null): HTMLElement {
  const isSignup = mode === 'signup';
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  const name = h('input', { type: 'text', name: 'displayName', autocomplete: 'name', maxlength: 20, required: true });
  const password = h('input', {
    type: 'password',
    name: 'password',
    autocomplete: isSignup ? 'new-password' : 'current-password',
    minlength: isSignup ? 8 : 1,
    required: true,
  });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, isSignup ? 'Create account' : 'Sign in');
  const suffix = next ? `?next=${encodeURIComponent(next)}` : '';

  const form = h(
    'form',
    { class: 'card auth-card', 'aria-labelledby': 'auth-title', novalidate: true },
    h('h1', { id: 'auth-title' }, isSignup ? 'Create your account' : 'Sign in to edgemeet'),
    field('Email', email),
    isSignup ? field('Your name', name, 'Shown to others in meetings (up to 20 characters)') : null,
    field('Password', password, isSignup ? 'At least 8 characters' : undefined),
    error,
    submit,
    h(
      'p',
      { class: 'muted' },
      isSignup ? 'Already have an account? ' : 'New here? ',
      h('a', { href: `/${isSignup ? 'signin' : 'signup'}${suffix}`, 'data-link': true }, isSignup ? 'Sign in' : 'Create an account'),
    ),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.textContent = '';
    const checks = [emailSchema.safeParse(email.value), (isSignup ? passwordSchema : passwordSchema.min(1)).safeParse(password.value)];
    if (isSignup) checks.push(displayNameSchema.safeParse(name.value));
    const failed = checks.find((check) => !check.success);
    if (failed && !failed.success) {
      error.textContent = failed.error.issues[0]?.message ?? 'Please check the form.';
      return;
    }
    submit.disabled = true;
    const request = isSignup ? api.register(email.value, name.value.trim(), password.value) : api.login(email.value, password.value);
    request
      .then((result) => {
        saveSession({ token: result.token, user: result.user, expiresAt: result.expiresAt });
        navigate(next ?? '/', true);
      })
      .catch((failure: unknown) => {
        error.textContent = failure instanceof ApiError ? describeError(failure.code, failure.message) : 'Something went wrong.';
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  queueMicrotask(() => email.focus());
  return h('main', { class: 'page page-center' }, form);
}
