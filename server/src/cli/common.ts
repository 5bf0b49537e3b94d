// Option values shared by several subcommands (one definition, one default).
import type { WeightFormat } from '../graph/contract';

export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export const WEIGHT_FORMATS: readonly WeightFormat[] = ['fp32', 'fp16', 'int8', 'int4'];
