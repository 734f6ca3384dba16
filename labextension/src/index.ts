import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tracker:plugin',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    console.log('tracker', app.name);
  }
};

export default plugin;
