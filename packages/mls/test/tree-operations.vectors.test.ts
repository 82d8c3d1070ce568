import { defineVectorTests } from './kinds/define.js';

defineVectorTests('tree-operations');
