// The calculator tool: a thin adapter from validated arguments to the safe evaluator.
import { z } from 'zod';
import { ArithmeticError, evaluate, MAX_EXPRESSION_LENGTH } from './arithmetic.js';
import { defineTool, ToolError } from './tool.js';

export const calculatorTool = defineTool({
  name: 'calculator',
  description: 'Evaluate an arithmetic expression exactly as written. Supports + - * / % ^ (power), '
    + 'parentheses, sqrt, abs, round, floor, ceil, min, max, log (base 10, or log(x, base)), ln, exp, '
    + 'sin, cos, tan (radians) and the constants pi and e.',
  schema: z.object({
    expression: z.string().trim().min(1).max(MAX_EXPRESSION_LENGTH).describe('The expression, e.g. "2*(3+4)" or "sqrt(2)"'),
  }),
  async execute({ expression }) {
    try {
      const { value, text } = evaluate(expression);
      return { expression, value, text };
    } catch (err) {
      if (err instanceof ArithmeticError) throw new ToolError(err.message);
      throw err;
    }
  },
});
