import { defineVectorTests } from './kinds/define.js';

defineVectorTests('deserialization');
