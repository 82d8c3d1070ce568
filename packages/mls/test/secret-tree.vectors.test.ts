import { defineVectorTests } from './kinds/define.js';

defineVectorTests('secret-tree');
