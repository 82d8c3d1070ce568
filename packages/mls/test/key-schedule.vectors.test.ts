import { defineVectorTests } from './kinds/define.js';

defineVectorTests('key-schedule');
