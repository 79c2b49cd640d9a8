/** The sandbox merchant (DESIGN.md ready line): the one mchid the sandbox serves, and its mini-program appid. */
export interface Merchant {
  mchid: string;
  appid: string;
}
