// Policy names → constructors (one table; the CLI, benchmarks and the server all pick from it).
import type { Engine } from '../../engine/engine';
import type { CachePolicy, PolicyName } from './policy';
import { POLICY_NAMES } from './policy';
import { DEFAULT_CATALYST, INFINIPOT_HEADERS, INFINIPOT_PINS, INFINIPOT_SCALES, infinipotPolicy, type CatalystFrame, type InfiniPotHeaders, type InfiniPotOptions, type InfiniPotPin, type InfiniPotScale } from './infinipot';
import { questionPrompt } from '../prompt';
import { streamingPolicy } from './streaming';
import { h2oPolicy } from './h2o';
import { tovaPolicy } from './tova';
import { randomPolicy } from './random';
import { snapkvPolicy } from './snapkv';
import { fullPolicy } from './full';
import { registryEntry } from '../../util/registry';

export interface PolicyTuning {
  infinipot?: Partial<Omit<InfiniPotOptions, 'catalystTokens'>> & { catalystFrame?: CatalystFrame };
  seed?: number;
}

type PolicyFactory = (engine: Engine, catalyst: string, tuning: PolicyTuning) => CachePolicy;

const policyFactories: Readonly<Record<PolicyName, PolicyFactory>> = {
  infinipot: (engine, catalyst, tuning) => {
    const { catalystFrame, ...options } = tuning.infinipot ?? {};
    return infinipotPolicy({ catalystTokens: engine.tokenizer.encode(catalystText(engine, catalyst, catalystFrame)), ...options });
  },
  streaming: () => streamingPolicy(),
  h2o: () => h2oPolicy(),
  tova: () => tovaPolicy(),
  random: (_engine, _catalyst, tuning) => randomPolicy(tuning.seed),
  snapkv: () => snapkvPolicy(),
  full: () => fullPolicy(),
};

export function makePolicy(name: PolicyName, engine: Engine, catalyst = DEFAULT_CATALYST, tuning: PolicyTuning = {}): CachePolicy {
  const make = registryEntry(policyFactories, name);
  if (!make) throw new RangeError(`unknown policy "${String(name)}"; choose one of ${POLICY_NAMES.join(', ')}`);
  return make(engine, catalyst, tuning);
}

/** The text run after the pot to score it (CaP). */
export function catalystText(engine: Engine, catalyst: string, frame: CatalystFrame = 'question'): string {
  return frame === 'question' ? questionPrompt(engine, catalyst).text : `\n${catalyst}\n`;
}

/**
 * A policy with tuning, as named on the command line: `infinipot`, `infinipot:cap=0.25`,
 * `infinipot:unit=line`, `infinipot:frame=plain` (options joined by ':'). Benchmarks use these to
 * measure InfiniPot's alternatives side by side with the baselines.
 */
export function parsePolicySpec(spec: string): { name: PolicyName; tuning: PolicyTuning } {
  const [name, ...options] = spec.split(':');
  if (!registryEntry(policyFactories, name)) throw new RangeError(`unknown policy "${name}" in "${spec}"; choose one of ${POLICY_NAMES.join(', ')}`);
  const infinipot: NonNullable<PolicyTuning['infinipot']> = {};
  for (const option of options) {
    const [key, value] = option.split('=');
    if (name !== 'infinipot') throw new RangeError(`policy "${name}" takes no options (got "${option}" in "${spec}")`);
    if (key === 'cap' && Number.isFinite(Number(value))) infinipot.capShare = Number(value);
    else if (key === 'unit' && (value === 'token' || value === 'line')) infinipot.unit = value;
    else if (key === 'frame' && (value === 'question' || value === 'plain')) infinipot.catalystFrame = value;
    else if (key === 'pin' && (INFINIPOT_PINS as readonly string[]).includes(value)) infinipot.pin = value as InfiniPotPin;
    else if (key === 'headers' && (INFINIPOT_HEADERS as readonly string[]).includes(value)) infinipot.headers = value as InfiniPotHeaders;
    else if (key === 'pinshare' && Number(value) >= 0 && Number(value) <= 1) infinipot.pinShare = Number(value);
    else if (key === 'outline' && Number(value) >= 0 && Number(value) <= 1) infinipot.outlineShare = Number(value);
    else if (key === 'recent' && Number(value) >= 0 && Number(value) <= 1) infinipot.recentShare = Number(value);
    else if (key === 'scale' && (INFINIPOT_SCALES as readonly string[]).includes(value)) infinipot.scale = value as InfiniPotScale;
    else throw new RangeError(`"${option}" in "${spec}": expected cap=<0..1>, unit=token|line, frame=question|plain, pin=${INFINIPOT_PINS.join('|')}, headers=${INFINIPOT_HEADERS.join('|')}, pinshare=<0..1>, outline=<0..1>, recent=<0..1> or scale=${INFINIPOT_SCALES.join('|')}`);
  }
  return { name: name as PolicyName, tuning: { infinipot } };
}

export function makePolicyFromSpec(spec: string, engine: Engine, catalyst = DEFAULT_CATALYST): CachePolicy {
  const { name, tuning } = parsePolicySpec(spec);
  return makePolicy(name, engine, catalyst, tuning);
}
