// placeholder — owner: recording (overwrite this file)
import { Hono } from 'hono';
import type { Env } from '../env.js';

export const recordingRoutes = new Hono<{ Bindings: Env }>();
