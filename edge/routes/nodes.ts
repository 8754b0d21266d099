// placeholder — owner: edge-rooms (overwrite this file)
import { Hono } from 'hono';
import type { Env } from '../env.js';

export const nodeRoutes = new Hono<{ Bindings: Env }>();
