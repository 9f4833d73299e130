import { describe, it, expect } from 'vitest';
import { planToolCalls, splitClauses, cleanQuery, type PlannedCall } from './planner.js';

const calc = (expression: string, label = expression): PlannedCall => ({ tool: 'calculator', arguments: { expression }, label });
const time = (timezone?: string): PlannedCall => ({ tool: 'current_time', arguments: timezone ? { timezone } : {} });
const search = (query: string): PlannedCall => ({ tool: 'search_conversation', arguments: { query } });

describe('planner: arithmetic', () => {
  it.each<[string, PlannedCall[]]>([
    ['what is 2*(3+4)?', [calc('2*(3+4)')]],
    ["what's 6 * 7", [calc('6 * 7')]],
    ['calculate 17% of 240', [calc('17/100*240', '17% of 240')]],
    ['compute sqrt(2)', [calc('sqrt(2)')]],
    ['evaluate 2^10 please', [calc('2^10')]],
    ['how much is 19.99 * 3', [calc('19.99 * 3')]],
    ['2+2', [calc('2+2')]],
    ['(1+2)*3 = ?', [calc('(1+2)*3')]],
    ['what is 1/0', [calc('1/0')]],
    ['what is pi', [calc('pi')]],
    ['what is 5 times 3 plus 2', [calc('5 * 3 + 2')]],
    ['what is 12 divided by 4', [calc('12 / 4')]],
    ['what is 3 x 4', [calc('3*4')]],
    ['what is the square root of 16', [calc('sqrt(16)')]],
    ['what is 2 to the power of 8', [calc('2 ^ 8')]],
    ['what is 2+2, 3*3', [calc('2+2'), calc('3*3')]],
    ['what is max(1, 2) and min(3,4)?', [calc('max(1, 2)'), calc('min(3,4)')]],
    ['(what is 2+2)', [calc('2+2')]],
    ['calculate 2+*3', [calc('2+*3')]],
    ['find 2+2', [calc('2+2')]],
  ])('%j', (message, expected) => {
    expect(planToolCalls(message)).toEqual(expected);
  });

  it.each([
    'call me at 555-1234',
    'I have 2 cats and 3 dogs',
    'what happened on 2024-01-05',
    'what is -5',
    'what is love',
    'tell me a joke',
    '',
  ])('leaves %j alone', (message) => {
    expect(planToolCalls(message)).toEqual([]);
  });
});

describe('planner: time', () => {
  it.each<[string, PlannedCall[]]>([
    ['what time is it', [time()]],
    ["what's the date in Tokyo", [time('Asia/Tokyo')]],
    ['time in Europe/Paris', [time('Europe/Paris')]],
    ['What is the current time in New York?', [time('America/New_York')]],
    ['what day is it in sydney', [time('Australia/Sydney')]],
    ['tell me the time in London please', [time('Europe/London')]],
    ['what time is it in UTC', [time('UTC')]],
    ['current date America/Argentina/Buenos_Aires', [time('America/Argentina/Buenos_Aires')]],
    ['what time is it in mars/base', [time('mars/base')]],
    ['time now', [time()]],
  ])('%j', (message, expected) => {
    expect(planToolCalls(message)).toEqual(expected);
  });

  it('defaults an unknown place to UTC and remembers the place for the answer', () => {
    expect(planToolCalls('what time is it in Springfield')).toEqual([{ tool: 'current_time', arguments: {}, unknownPlace: 'Springfield' }]);
  });

  it('does not mistake "times" for time', () => {
    expect(planToolCalls('what is 3 times 4')).toEqual([calc('3 * 4')]);
  });
});

describe('planner: conversation search', () => {
  it.each<[string, PlannedCall[]]>([
    ['what did I say about pizza?', [search('pizza')]],
    ['What did we say about the deployment plan earlier?', [search('deployment plan')]],
    ['what did I tell you about my dog', [search('dog')]],
    ['search for "quarterly budget"', [search('quarterly budget')]],
    ['search the conversation for kubernetes', [search('kubernetes')]],
    ['look up invoices', [search('invoices')]],
    ['find messages about rust', [search('rust')]],
    ['find the budget', [search('budget')]],
    ['did we talk about vacation plans?', [search('vacation plans')]],
    ['have I mentioned Alice before', [search('Alice')]],
    ['remind me what I said about the trip', [search('trip')]],
    ['what did I say about the time in Paris', [search('time in Paris')]],
    ['what did I say about 2+2', [search('2+2')]],
  ])('%j', (message, expected) => {
    expect(planToolCalls(message)).toEqual(expected);
  });

  it('cleans queries', () => {
    expect(cleanQuery(' "pizza"? ')).toBe('pizza');
    expect(cleanQuery('the word banana in this conversation')).toBe('banana');
    expect(cleanQuery('x'.repeat(300))).toHaveLength(200);
  });

  it('does not search for nothing', () => {
    expect(planToolCalls('search for')).toEqual([]);
    expect(planToolCalls('find "?"')).toEqual([]);
  });
});

describe('planner: several requests in one message', () => {
  it.each<[string, PlannedCall[]]>([
    ['what is 6*7 and what time is it', [calc('6*7'), time()]],
    ['what time is it in Tokyo and what is 2+2?', [time('Asia/Tokyo'), calc('2+2')]],
    ['search for pizza, then calculate 3*3. Also what is the date?', [search('pizza'), calc('3*3'), time()]],
    ['what did I say about salt and pepper', [search('salt and pepper')]],
    ['what is 2+2? what is 2+2?', [calc('2+2')]],
  ])('%j', (message, expected) => {
    expect(planToolCalls(message)).toEqual(expected);
  });

  it('splits clauses on question marks, sentence ends and "and <question>"', () => {
    expect(splitClauses('what is 2.5*4? and what time is it. find cats; hi!')).toEqual(['what is 2.5*4', 'what time is it', 'find cats', 'hi']);
    expect(splitClauses('what is 6*7 and what time is it')).toEqual(['what is 6*7', 'what time is it']);
  });
});
