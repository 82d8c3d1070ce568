import { defineVectorTests } from './kinds/define.js';

defineVectorTests('transcript-hashes');
