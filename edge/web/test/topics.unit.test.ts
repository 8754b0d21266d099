import { describe, expect, it } from 'vitest';
import { Topics } from '../src/call/topics.js';

describe('a call’s topics (what changed, for the views)', () => {
  it('runs a listener once when several of its topics change together, after every change is announced', () => {
    const topics = new Topics();
    const calls: string[] = [];
    const people = () => calls.push('people');
    for (const topic of ['participants', 'waiting', 'meeting'] as const) topics.on(topic, people);
    topics.on('chat', () => calls.push('chat'));
    topics.on('remotes', () => calls.push('grid'));
    // A room's welcome.
    topics.emit('phase', 'participants', 'waiting', 'chat', 'meeting');
    expect(calls).toEqual(['people', 'chat']);
    topics.emit('meeting');
    topics.emit('remotes', 'waiting');
    expect(calls).toEqual(['people', 'chat', 'people', 'grid', 'people']);
  });

  it('does not call a listener another one unsubscribed during the same announcement', () => {
    const topics = new Topics();
    const calls: string[] = [];
    let offView: () => void = () => undefined;
    topics.on('phase', () => {
      calls.push('page');
      offView(); // the page replaces the in-call view, whose listener goes
    });
    offView = topics.on('participants', () => calls.push('view'));
    topics.emit('phase', 'participants');
    expect(calls).toEqual(['page']);
    topics.emit('participants');
    expect(calls).toEqual(['page']);
  });
});
