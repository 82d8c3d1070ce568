import { defineVectorTests } from './kinds/define.js';

defineVectorTests('crypto-basics');
