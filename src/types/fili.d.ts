// Minimal typings for the parts of fili (https://github.com/markert/fili.js) this project uses.
declare module 'fili' {
  interface CascadeParams {
    order: number;
    characteristic: 'butterworth' | 'bessel';
    Fs: number;
    Fc: number;
  }
  interface FiliStage {
    a: number[];
    b: number[];
    k: number;
  }
  class CalcCascades {
    lowpass(p: CascadeParams): FiliStage[];
    highpass(p: CascadeParams): FiliStage[];
  }
  const Fili: { CalcCascades: typeof CalcCascades };
  export default Fili;
}
