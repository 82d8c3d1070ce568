import { defineVectorTests } from './kinds/define.js';

defineVectorTests('tree-math');
