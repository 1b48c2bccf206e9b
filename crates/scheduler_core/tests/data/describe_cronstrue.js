// Writes describe_cronstrue.tsv: cronstrue's English for cron expressions this project accepts,
// the reference for schedule_describe (crates/scheduler_core/src/time/describe.rs).
//
//   mkdir /tmp/cronstrue && cd /tmp/cronstrue && npm install cronstrue@3.39.0
//   NODE_PATH=/tmp/cronstrue/node_modules node describe_cronstrue.js > describe_cronstrue.tsv
//
// Rows: hand-picked cases for every field form, the `derived` and `differs` rows (see README.md),
// then random expressions from a fixed seed over the syntax both accept.
'use strict';

const cronstrue = require('cronstrue');

const OPTIONS = { use24HourTimeFormat: true, verbose: false };
const describe = (expression, extra) => cronstrue.toString(expression, { ...OPTIONS, ...extra });

const HAND_PICKED = [
  // The contract's example, and the macros.
  '0 9 * * 1-5', '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly',
  // Minute and hour, alone and together.
  '* * * * *', '0 * * * *', '1 * * * *', '5 * * * *', '30 * * * *', '59 * * * *',
  '*/5 * * * *', '*/1 * * * *', '*/60 * * * *', '0/15 * * * *', '10/15 * * * *', '1/1 * * * *',
  '5-10 * * * *', '1-1 * * * *', '50-10 * * * *', '5-10/2 * * * *', '50-10/5 * * * *', '5-10/1 * * * *',
  '5,10 * * * *', '10,5 * * * *', '5,10,15 * * * *', '0,30 * * * *', '*/10,5 * * * *', '5,*/10 * * * *',
  '0,*/15 * * * *', '1-5,10-20 * * * *', '10-20/5,45 * * * *', '0 9 * * *', '30 2 * * *', '05 09 * * *',
  '59 23 * * *', '* 9 * * *', '*/5 9 * * *', '5-10 9 * * *', '5,10 9 * * *', '10/15 9 * * *',
  '* 9-17 * * *', '0 9-17 * * *', '30 9-17 * * *', '0 22-2 * * *', '30 22-2 * * *', '0 22-2/3 * * *',
  '30 22-2/3 * * *', '0 */4 * * *', '15 */4 * * *', '0 3/4 * * *', '0 0/2 * * *', '0 9,17 * * *',
  '0 17,9 * * *', '15 1,3,22 * * *', '1,2 3,4 * * *', '0 1,3-5,22 * * *', '30 1,3-5,22 * * *',
  '0 1,*/6 * * *', '0 */6,1 * * *', '0 9-12/2,18 * * *', '*/15 9-17 * * *', '0-30 * * * *',
  '0 0-23/2 * * *', '0 * * * 1-5',
  // Day of month.
  '0 0 1 * *', '0 0 15 * *', '0 0 31 * *', '0 0 L * *', '0 0 LW * *', '0 0 1W * *', '0 0 15W * *',
  '0 0 1-15 * *', '0 0 28-3 * *', '0 0 */2 * *', '0 0 */1 * *', '0 0 1/5 * *', '0 0 2/5 * *',
  '0 0 1-10/3 * *', '0 0 1,15 * *', '0 0 15,1 * *', '0 0 1,L * *', '0 0 1-5,L * *', '0 0 1,*/5 * *',
  '0 0 1-10/3,20 * *', '0 0 ? * *', '0 0 1-31 * *',
  // Month.
  '0 0 1 1 *', '0 0 * 12 *', '0 0 * dec *', '0 0 * Jan-JUN *', '0 0 * 1-6 *', '0 0 * nov-feb *',
  '0 0 * */3 *', '0 0 * 3/2 *', '0 0 * 1/1 *', '0 0 * jan,mar *', '0 0 * mar,jan *', '0 0 * 3,1 *',
  '0 0 * 1,3/2 *', '0 0 * jan-jun/2,dec *', '59 23 31 12 *',
  // Day of week.
  '0 0 * * 0', '0 0 * * 7', '0 0 * * sun', '0 0 * * SAT', '0 0 * * 1-5', '0 0 * * mon-fri',
  '0 0 * * fri-mon', '0 0 * * sat-sun', '0 0 * * mon-sun', '0 0 * * 5-7', '0 0 * * 5-0', '0 0 * * 7-3',
  '0 0 * * 0-6', '0 0 * * */2', '0 0 * * */1', '0 0 * * 0/1', '0 0 * * 3/2', '0 0 * * 7/2',
  '0 0 * * SUN/3', '0 0 * * 1-7/2', '0 0 * * 1,3,5', '0 0 * * 5,1', '0 0 * * 7,1', '0 0 * * mon,wed',
  '0 0 * * 1-3,5', '0 0 * * 1,*/2', '0 0 * * 1,3/2', '0 0 * * mon-fri/2,sun', '0 0 * * 5L',
  '0 0 * * FRIL', '0 0 * * 7L', '0 0 * * fri#2', '0 0 * * 1#1', '0 0 * * 5#5', '0 0 * * 1#1,2#2',
  '0 0 * * 5L,6L', '0 0 * * 1,5L', '0 0 * * 1#2,5L', '0 0 ? * 1',
  // Both day fields: either may match.
  '0 0 1 * 1', '0 16 */2 * sat', '0 0 L * 5', '0 0 1-7 * mon', '0 0 1,15 * 1-5', '0 0 15W * 1,3',
  '0 0 1 * 5L', '0 0 1 * fri#1', '0 0 1 * mon,fri', '0 12 1 1 *', '0 12 1 jan mon', '*/5 * 1 * 1',
];

// Rows whose text is ours: what the contract means differs from what cronstrue reads, or
// cronstrue does not accept the form. `via` is an equivalent expression cronstrue reads right;
// `text` is written by hand.
const DERIVED = [
  { expression: '0 0 $ * *', via: '0 0 L * *', why: "$ is pg_cron's L" },
  { expression: '0 0 1,$ * *', via: '0 0 1,L * *', why: "$ is pg_cron's L" },
  { expression: '*,5 * * * *', via: '* * * * *', why: 'a list with * is *' },
  { expression: '0 9 * * mon,*', via: '0 9 * * *', why: 'a list with * is *' },
  { expression: '0 0 ?,5 * mon', via: '0 0 * * mon', why: 'a list with ? is *' },
  { expression: '@DAILY', via: '@daily', why: 'macros in any case' },
  { expression: '0 0 1 * +MON', via: '0 0 1 * MON', extra: { logicalAndDayFields: true },
    why: '+ (croner): both day fields must match; cronstrue logicalAndDayFields wording' },
  { expression: '0 0 1-7 * +fri', via: '0 0 1-7 * fri', extra: { logicalAndDayFields: true },
    why: '+ (croner): both day fields must match; cronstrue logicalAndDayFields wording' },
  { expression: '0 0 * * sun-sun', via: '0 0 * * sun', why: 'sun-sun is Sunday only' },
  { expression: '0 0 * * 0-sun', via: '0 0 * * sun', why: '0-sun is Sunday only' },
  { expression: '0 0 * * 7-7', via: '0 0 * * sun', why: '7-7 is Sunday only' },
  { expression: '0 0 * * 0-7', via: '0 0 * * 0-6', why: '0-7 is every day of the week' },
  { expression: '0 0 * * mon-fri#1', text: 'At 00:00, on the first Monday through Friday of the month',
    why: '#k after a range: the k-th of each day (cronstrue: "Monday through first Friday")' },
  { expression: '50-10 9 * * *', text: 'Minutes 50 through 10 past the hour, at 09:00',
    why: 'minutes wrap around within the hour (cronstrue: "between 09:50 and 09:10")' },
  { expression: '0 0 */1 * mon', text: 'At 00:00, every day of the month, and on Monday',
    why: '*/1 still restricts the day of month, so the OR with Monday is every day' },
  { expression: '0 0 1 * */1', text: 'At 00:00, on day 1 of the month, and every day of the week',
    why: '*/1 still restricts the day of week, so the OR with day 1 is every day' },
  { expression: '0 0 1W,15W * *', text: 'At 00:00, on the first weekday and the weekday nearest day 15 of the month',
    why: 'W in a list (cronstrue refuses it)' },
];

// Accepted by both, described differently on purpose (README.md): the note quotes cronstrue.
const DIFFERS = [
  { expression: '30 */6,9-11 * * *', text: 'At 30 minutes past the hour, every 6 hours and 09:00 through 11:59',
    why: 'an hour range after a step in a list ends at :59 like any other' },
  { expression: '1-5,10-20/2,30 * * * *',
    text: 'Minutes 1 through 5 past the hour, every 2 minutes, minutes 10 through 20 past the hour, and at 30 minutes past the hour',
    why: 'a minute range in a list with a step keeps its unit' },
  { expression: '* * 6-20,*/5 * *',
    text: 'Every minute, between day 6 and 20 of the month and every 5 days in a month',
    why: 'a day range in a list with a step keeps its unit and comma' },
  { expression: '0 0 * feb-jun,*/3 *', text: 'At 00:00, February through June and every 3 months',
    why: 'a month range first in a list with a step keeps its comma' },
  { expression: '0 0 1 * */2,3', text: 'At 00:00, on day 1 of the month, every 2 days of the week and on Wednesday',
    why: 'a weekday after a step in a list: one "and"' },
  { expression: '0 0 1 * 1,3/2',
    text: 'At 00:00, on day 1 of the month, and on Monday and every 2 days of the week, starting on Wednesday',
    why: 'a weekday step start: "starting on"' },
  { expression: '0 0 */5,L * *', text: 'At 00:00, every 5 days in a month and on the last day of the month',
    why: 'L in a list with a step: "on the last day"' },
  { expression: '0 0 L,1 * *', text: 'At 00:00, on the last day and day 1 of the month',
    why: 'a day list starting with L' },
  { expression: '*/90 * * * *', text: 'Every hour',
    why: 'a step longer than the field selects its first value only (minute 0)' },
  { expression: '15 */30 * * *', text: 'At 00:15',
    why: 'a step longer than the field selects its first value only (hour 0)' },
  { expression: '5,0/10 * * * *', text: 'At 5 minutes past the hour and every 10 minutes',
    why: '0/10 is */10 anywhere in a list' },
  { expression: '5,1,10-20 * * * *', text: 'At 5, 1, and 10 through 20 minutes past the hour',
    why: 'a list that is not all numbers keeps its order' },
];

// ---- random expressions over the syntax both accept ----

// mulberry32: a small seeded generator, so the file is reproducible.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(20240612);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (items) => items[int(0, items.length - 1)];

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 7, names: DAY_NAMES },
];
const caseOf = (name) => pick([name, name.toUpperCase(), name[0].toUpperCase() + name.slice(1)]);

// A value as text (a name half the time in the month and day-of-week fields) and its number.
function value(index, lo, hi) {
  const field = FIELDS[index];
  const n = int(lo ?? field.min, hi ?? field.max);
  if (field.names && random() < 0.5) {
    const name = index === 3 ? field.names[n - 1] : field.names[n % 7];
    return { text: caseOf(name), n, plain: false };
  }
  return { text: String(n), n, plain: true };
}

// One list element: { text, start (for ordering), plain (written as digits), kind, end }.
// `noRange`: no plain range (cronstrue's text for a range in a list with a step is a DIFFERS row).
function element(index, inList, noRange) {
  const field = FIELDS[index];
  const roll = random();
  if (roll < 0.3 || (noRange && roll < 0.55)) {
    return { ...value(index), kind: 'value' };
  }
  if (roll < 0.55) {
    const a = value(index);
    let b = value(index);
    if (index === 4) {
      // Day-of-week ranges from Sunday to Sunday are derived rows, not random ones.
      while (a.n % 7 === 0 && b.n % 7 === 0) b = value(index);
    }
    return { text: `${a.text}-${b.text}`, start: a.n, plain: false, kind: 'range', end: b.n };
  }
  if (roll < 0.7) {
    return { text: `*/${int(2, Math.min(field.max, 20))}`, start: -1, plain: false, kind: 'step' };
  }
  if (roll < 0.85) {
    // N/step from the field's first value reads as */step; inside a list only cronstrue's first
    // element gets that reading (a DIFFERS row).
    const a = value(index, inList ? field.min + 1 : field.min, index === 4 ? 6 : field.max);
    return { text: `${a.text}/${int(2, 10)}`, start: a.n, plain: false, kind: 'step' };
  }
  const a = value(index);
  let b = value(index);
  if (index === 4) {
    while (a.n % 7 === 0 && b.n % 7 === 0) b = value(index);
  }
  return { text: `${a.text}-${b.text}/${int(2, 6)}`, start: a.n, plain: false, kind: 'step', end: b.n };
}

// `extra`: one more element for the list (the day of month's L).
function field(index, extra) {
  const roll = random();
  if (roll < 0.3) return { text: '*', elements: [] };
  const count = roll < 0.8 ? 1 : int(2, 3);
  const elements = [];
  for (let i = 0; i < count; i += 1) elements.push(element(index, count > 1));
  if (count > 1 && elements.some((e) => e.kind === 'step')) {
    // A list with a step: values and steps only.
    for (let i = 0; i < count; i += 1) {
      if (elements[i].kind === 'range') elements[i] = element(index, true, true);
    }
  } else if (count > 1 && extra) {
    elements.push(extra);
  }
  if (elements.some((e) => !e.plain)) {
    // cronstrue orders such lists with JavaScript's sort and a comparison that is undefined for
    // non-numbers; written in ascending order they keep it (a DIFFERS row shows the rest).
    elements.sort((x, y) => (x.start ?? x.n) - (y.start ?? y.n));
  }
  return { text: elements.map((e) => e.text).join(','), elements };
}

function dayOfMonth() {
  const roll = random();
  if (roll < 0.05) return { text: 'L', elements: [{ kind: 'L' }] };
  if (roll < 0.08) return { text: 'LW', elements: [{ kind: 'L' }] };
  if (roll < 0.12) return { text: `${int(1, 31)}W`, elements: [{ kind: 'W' }] };
  if (roll < 0.15) return { text: '?', elements: [] };
  return field(2, random() < 0.2 ? { text: 'L', start: 99, plain: false, kind: 'L' } : undefined);
}

function dayOfWeek() {
  const roll = random();
  if (roll < 0.06) return { text: `${value(4).text}L`, elements: [{ kind: 'last' }] };
  if (roll < 0.12) return { text: `${value(4).text}#${int(1, 5)}`, elements: [{ kind: 'nth' }] };
  if (roll < 0.15) return { text: '?', elements: [] };
  return field(4);
}

function randomExpression() {
  const [minute, hour] = [field(0), field(1)];
  const [dom, month, dow] = [dayOfMonth(), field(3), dayOfWeek()];
  // Derived rows, not random ones: a wrapped minute range under one hour; */1 in one day field
  // while the other is restricted.
  const single = (f, kind) => f.elements.length === 1 && f.elements[0].kind === kind;
  if (single(minute, 'range') && minute.elements[0].start > minute.elements[0].end && single(hour, 'value')) {
    return null;
  }
  // DIFFERS rows: an hour range after a step in a list, with minutes other than 0; in a list
  // with a step, a weekday while the day of month is restricted.
  const stepAt = hour.elements.findIndex((e) => e.kind === 'step');
  if (stepAt >= 0 && hour.elements.slice(stepAt + 1).some((e) => e.end !== undefined) && minute.text !== '0') {
    return null;
  }
  const restricted = (f) => f.text !== '*' && f.text !== '?';
  if (restricted(dom) && dow.elements.length > 1 && dow.elements.some((e) => e.kind === 'step')) {
    return null;
  }
  return [minute.text, hour.text, dom.text, month.text, dow.text].join(' ');
}

// ---- output ----

const rows = [];
const seen = new Set();
function add(expression, text, note) {
  if (seen.has(expression)) return;
  seen.add(expression);
  rows.push([expression, text, note]);
}

for (const expression of HAND_PICKED) add(expression, describe(expression), 'hand-picked');
for (const row of DERIVED) {
  const text = row.text ?? describe(row.via, row.extra);
  const how = row.text ? 'by hand' : `as cronstrue reads ${row.via}${row.extra ? ' with logicalAndDayFields' : ''}`;
  add(row.expression, text, `derived: ${row.why}; ${how}`);
}
for (const row of DIFFERS) {
  add(row.expression, row.text, `differs: ${row.why}; cronstrue: ${describe(row.expression)}`);
}
let refused = 0;
const wanted = rows.length + 300;
while (rows.length < wanted) {
  const expression = randomExpression();
  if (expression === null) continue;
  try {
    add(expression, describe(expression), 'random');
  } catch (error) {
    refused += 1;
  }
}
process.stderr.write(`${rows.length} rows; ${refused} random expressions cronstrue refused\n`);

process.stdout.write('expression\texpected\tnote\n');
for (const row of rows) process.stdout.write(`${row.join('\t')}\n`);
