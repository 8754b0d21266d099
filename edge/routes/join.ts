// placeholder — owner: edge-rooms (overwrite this file)
import { Hono } from 'hono';
import type { Env } from '../env.js';

export const joinRoutes = new Hono<{ Bindings: Env }>();
